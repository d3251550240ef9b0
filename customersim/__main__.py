"""``python -m customersim`` runs the command-line interface."""

import sys

from customersim.cli import main

sys.exit(main())
