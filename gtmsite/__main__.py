"""`python -m gtmsite`: the same command line as the `gtmsite` script."""

from .cli import run

if __name__ == "__main__":
    run()
