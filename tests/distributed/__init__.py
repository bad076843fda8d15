"""Running a test body under `tf.distribute.MirroredStrategy` on two logical CPUs.

Logical devices must be configured before TensorFlow initialises its
runtime, which has happened long before a test runs in the pytest process,
so the body runs in a fresh Python subprocess. The body gets `strategy`
(a MirroredStrategy over two logical CPU devices) and `tf`, and must print
`OK` at the end; anything it prints comes back in the assertion message.
"""

import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PRELUDE = """
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import numpy as np
import keras_transfer as kt
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert strategy.num_replicas_in_sync == 2
"""


def run_distributed(body, timeout=600):
    """Runs `body` with `strategy` defined; returns its stdout."""
    code = PRELUDE + textwrap.dedent(body)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    output = result.stdout + "\n" + result.stderr[-4000:]
    assert result.returncode == 0 and "OK" in result.stdout, output
    return result.stdout
