import sys

from gapmap.cli.commands import main

sys.exit(main())
