"""One module per benchmark stage; each returns the figures it measured."""
