"""gtmsite: go-to-market reports as code. Markdown + SQL in, a versioned static site out."""

__version__ = "0.1.0"
