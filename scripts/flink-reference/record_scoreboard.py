"""Re-records runtime/cluster/tests/golden/datastream-scoreboard.txt from real Apache Flink.

The score-board job of the Flink course: keyed by student, for each answer print
(student, points, answered, total, average). Run with PyFlink 2.x (Java 17 on the PATH):

    python3 -m venv /tmp/pyflink && /tmp/pyflink/bin/pip install apache-flink
    /tmp/pyflink/bin/python scripts/flink-reference/record_scoreboard.py \
        > runtime/cluster/tests/golden/datastream-scoreboard.txt
"""

import sys

from pyflink.common import Types
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.datastream.functions import KeyedProcessFunction, RuntimeContext
from pyflink.datastream.state import ValueStateDescriptor

ANSWERS = [("a", 3), ("b", 2), ("b", 2), ("a", 4), ("b", 3),
           ("a", 4), ("b", 3), ("a", 3), ("b", 2), ("b", 2)]


class RunningScore(KeyedProcessFunction):
    def open(self, runtime_context: RuntimeContext):
        self.standing = runtime_context.get_state(
            ValueStateDescriptor("standing", Types.TUPLE([Types.LONG(), Types.LONG()])))

    def process_element(self, value, ctx):
        answered, total = self.standing.value() or (0, 0)
        answered, total = answered + 1, total + value[1]
        self.standing.update((answered, total))
        yield value[0], value[1], answered, total, total / answered


def main():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    # Python workers run with this interpreter, so a venv's PyFlink is found.
    env.set_python_executable(sys.executable)
    answers = env.from_collection(ANSWERS, type_info=Types.TUPLE([Types.STRING(), Types.LONG()]))
    scores = answers.key_by(lambda answer: answer[0]).process(
        RunningScore(),
        output_type=Types.TUPLE([Types.STRING(), Types.LONG(), Types.LONG(), Types.LONG(), Types.DOUBLE()]))
    with scores.execute_and_collect("scoreboard") as results:
        for student, points, answered, total, average in results:
            print(f"({student},{points},{answered},{total},{average!r})")


if __name__ == "__main__":
    main()
