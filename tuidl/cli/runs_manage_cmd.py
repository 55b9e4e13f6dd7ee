"""``tuidl runs rm|tag|untag|name|note|vacuum``: managing stored runs.

Each action changes only the runs it names, in one transaction, and prints one line
saying what it did. Errors (an unknown id, a bad tag, a running run to delete) are one
``error:`` line and exit 2, having changed nothing.
"""

from __future__ import annotations

import sys

from tuidl.sizes import human_bytes


def add_actions(runs_parser) -> None:
    from tuidl.cli.runs_cmd import add_store_option

    acts = runs_parser.add_subparsers(dest="runs_action", metavar="ACTION")

    rm = acts.add_parser(
        "rm",
        aliases=["delete"],
        help="delete runs and give their space back",
        description="Delete runs (their trials, folds, curves, test results, tags) in one "
        "transaction; other runs are not touched. A queued or running run is refused: "
        "stop it with `tuidl cancel RUN_ID` first, or pass --force if its runner is gone.",
    )
    rm.add_argument("run_ids", nargs="+", type=int, metavar="RUN_ID")
    rm.add_argument("--force", action="store_true", help="also delete queued/running runs")
    add_store_option(rm, suppress=True)
    rm.set_defaults(func=delete)

    for name, remove in (("tag", False), ("untag", True)):
        t = acts.add_parser(
            name,
            help="take tags off a run" if remove else "add tags to a run",
            description=(
                "Take tags off a run."
                if remove
                else "Add tags to a run (find them with --filter tag=NAME)."
            )
            + " A tag is 1-64 letters, digits or _ . : / + -.",
        )
        t.add_argument("run_id", type=int, metavar="RUN_ID")
        t.add_argument("tags", nargs="+", metavar="TAG")
        add_store_option(t, suppress=True)
        t.set_defaults(func=tag, remove=remove)

    n = acts.add_parser("name", help="name a run", description='Name a run ("" clears the name).')
    n.add_argument("run_id", type=int, metavar="RUN_ID")
    n.add_argument("text", metavar="NAME")
    add_store_option(n, suppress=True)
    n.set_defaults(func=set_text, field="name")

    o = acts.add_parser(
        "note",
        help="attach a note to a run",
        description='Attach a free-text note to a run ("" clears it; - reads it from stdin). '
        "`tuidl show RUN_ID` prints it.",
    )
    o.add_argument("run_id", type=int, metavar="RUN_ID")
    o.add_argument("text", metavar="TEXT")
    add_store_option(o, suppress=True)
    o.set_defaults(func=set_text, field="note")

    v = acts.add_parser(
        "vacuum",
        help="rewrite the store compactly",
        description="Rewrite the store file compactly (SQLite VACUUM), giving back the space "
        "of deleted runs; stores written by an older tuidl also start giving it back by "
        "themselves on every later delete. A running run waits for it.",
    )
    add_store_option(v, suppress=True)
    v.set_defaults(func=vacuum)


def _store(args):
    from tuidl.cli.runs_cmd import open_store

    ids = getattr(args, "run_ids", None) or [getattr(args, "run_id", None)]
    return open_store(args, run_id=ids[0])


def delete(args) -> int:
    with _store(args) as store:
        before = store.size()["bytes"]
        ids = store.delete_runs(args.run_ids, force=args.force)
        freed = before - store.size()["bytes"]
    what = ", ".join(str(i) for i in ids)
    tail = f" ({human_bytes(freed)} given back)" if freed > 0 else ""
    sys.stdout.write(f"deleted run{'s' if len(ids) > 1 else ''} {what}{tail}\n")
    return 0


def tag(args) -> int:
    with _store(args) as store:
        tags = store.tag(args.run_id, args.tags, remove=args.remove)
    sys.stdout.write(f"run {args.run_id} tags: {', '.join(tags) or '(none)'}\n")
    return 0


def set_text(args) -> int:
    text = sys.stdin.read() if args.field == "note" and args.text == "-" else args.text
    with _store(args) as store:
        if args.field == "name":
            store.set_name(args.run_id, text)
        else:
            store.set_note(args.run_id, text)
    verb = "cleared" if not text.strip() else "set"
    sys.stdout.write(f"run {args.run_id} {args.field} {verb}\n")
    return 0


def vacuum(args) -> int:
    with _store(args) as store:
        before, after = store.vacuum()
    sys.stdout.write(f"{store.path}: {human_bytes(before)} -> {human_bytes(after)}\n")
    return 0
