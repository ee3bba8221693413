"""The command line: pip's option names in, a command's result printed out."""
