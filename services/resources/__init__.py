"""Resource libraries of spaces and networks: links and files (issue 11)."""
