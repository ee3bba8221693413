"""Commands: each a function from option values to a result value; no printing, no argv."""
