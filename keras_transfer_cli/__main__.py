import sys

from keras_transfer_cli import main

sys.exit(main())
