import sys

from .startup import main

sys.exit(main())
