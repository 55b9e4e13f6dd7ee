import sys

from tuidl.cli import main

sys.exit(main())
