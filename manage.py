#!/usr/bin/env python
from salesdesk.cli import main

if __name__ == "__main__":
    main()
