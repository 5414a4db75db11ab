import sys

from webhook.commands import main

sys.exit(main())
