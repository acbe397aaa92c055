import sys

from uwac.acoustics.cli import main

sys.exit(main())
