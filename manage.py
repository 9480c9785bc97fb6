#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    from django.core.management import execute_from_command_line

    from wangge.lib.env import EnvError

    try:
        execute_from_command_line(sys.argv)
    except EnvError as exc:
        sys.stderr.write(f"Configuration error: {exc}\n")
        sys.exit(2)
