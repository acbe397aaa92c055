import sys

from acoustics.cli import main

sys.exit(main())
