"""Time each phase of a test run and report the table, so the cost of every test is visible.

    python3 -m tools.phases run NAME -- CMD ...      # run CMD, record its duration as NAME
    python3 -m tools.phases molecule SCENARIO        # molecule's test sequence, one timed step each
        [--keep-lab] [--reuse-lab]                   # for scenarios that share one lab, in turn
    python3 -m tools.phases report [--warn-after S] [--fail-after S]
    python3 -m tools.phases reset

Durations go to $PHASES_FILE (default artifacts/phases.tsv), one line per phase, appended
by every process, so phases that run side by side are all recorded. `report` prints them
with the wall-clock total since `reset`, warns past --warn-after and exits 1 past
--fail-after, naming the slowest phases. Each phase's output is also kept in
artifacts/logs/<phase>.log, and the report ends with why each failed phase failed (pytest's
FAILED lines and assertion lines, Ansible's fatal lines), so the tail of a CI log says it.
Standard library only (it runs before the venv), except `molecule`, which reads the
scenario's molecule.yml with PyYAML from the venv.
"""

import argparse
import os
import re
import subprocess
import sys
import time

DEFAULT_FILE = os.path.join("artifacts", "phases.tsv")
# molecule's own default sequence for `molecule test`, used when a scenario sets none.
MOLECULE_DEFAULT_SEQUENCE = [
    "dependency",
    "cleanup",
    "destroy",
    "syntax",
    "create",
    "prepare",
    "converge",
    "idempotence",
    "side_effect",
    "verify",
    "cleanup",
    "destroy",
]


def phases_file():
    return os.environ.get("PHASES_FILE", DEFAULT_FILE)


def record(name, seconds, rc):
    path = phases_file()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    # One write per line with O_APPEND keeps lines whole when phases run side by side.
    line = "%s\t%.1f\t%d\t%.0f\n" % (name, seconds, rc, time.time())
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def log_path(name):
    folder = os.path.join(os.path.dirname(phases_file()) or ".", "logs")
    return os.path.join(folder, re.sub(r"[^A-Za-z0-9_.-]+", "_", name) + ".log")


def run(name, command):
    if not command:
        raise SystemExit("phases run: no command given for phase %r" % name)
    print("== phase %s: %s" % (name, " ".join(command)), flush=True)
    path = log_path(name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    start = time.monotonic()
    # The output goes on to our stdout line by line and into the phase's log.
    with open(path, "wb") as log:
        # Without a terminal pytest would cut its summary lines at 80 columns.
        env = dict(os.environ, COLUMNS=os.environ.get("COLUMNS", "200"))
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        for line in iter(proc.stdout.readline, b""):
            sys.stdout.buffer.write(line)
            sys.stdout.buffer.flush()
            log.write(line)
        proc.stdout.close()
        rc = proc.wait()
    seconds = time.monotonic() - start
    record(name, seconds, rc)
    print("== phase %s: %s in %s" % (name, "ok" if rc == 0 else "FAILED (exit %d)" % rc, fmt(seconds)), flush=True)
    return rc


def molecule_sequence(scenario):
    import yaml  # the venv's PyYAML; only this subcommand needs it

    path = os.path.join("molecule", scenario, "molecule.yml")
    with open(path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle) or {}
    sequence = (config.get("scenario") or {}).get("test_sequence") or MOLECULE_DEFAULT_SEQUENCE
    return list(sequence)


def lab_steps(steps, keep_lab=False, reuse_lab=False):
    """The steps of a scenario that shares its lab with the scenarios before and after it.

    reuse_lab: the scenario before it left the lab created and converged from the same
    inventory, so the steps up to and including its converge (destroy, create, converge, and
    an idempotence check of that converge) are left out; the verify step runs on that lab.
    keep_lab: the scenario after it uses the lab, so the destroy after its last check is left
    out (a destroy before its create stays: it starts from a clean machine)."""
    steps = list(steps)
    if reuse_lab:
        if "converge" not in steps:
            raise ValueError("--reuse-lab needs a sequence with a converge step: %s" % steps)
        after = steps.index("converge") + 1
        steps = [s for s in steps[after:] if s != "idempotence"]
    if keep_lab:
        while steps and steps[-1] in ("destroy", "cleanup"):
            steps.pop()
    return steps


def molecule(scenario, molecule_bin, keep_lab=False, reuse_lab=False):
    """Run the scenario's test sequence step by step; on a failure, destroy, as `molecule test` does
    (also with --keep-lab: the scenarios after a failed one do not run)."""
    full = molecule_sequence(scenario)
    steps = lab_steps(full, keep_lab, reuse_lab)
    if steps != full:
        print("molecule %s: %s (the lab is shared: %s)" % (scenario, " ".join(steps), " ".join(full)), flush=True)
    for step in steps:
        rc = run("molecule/%s/%s" % (scenario, step), [molecule_bin, step, "-s", scenario])
        if rc != 0:
            if "destroy" in full[full.index(step) + 1 :]:
                run("molecule/%s/destroy-after-failure" % scenario, [molecule_bin, "destroy", "-s", scenario])
            return rc
    return 0


def fmt(seconds):
    minutes, rest = divmod(int(round(seconds)), 60)
    return "%dm%02ds" % (minutes, rest) if minutes else "%ds" % rest


def read():
    path = phases_file()
    if not os.path.exists(path):
        return [], None
    rows, started = [], None
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if parts[0] == "#start":
                started = float(parts[1])
            elif len(parts) >= 3:
                rows.append((parts[0], float(parts[1]), int(parts[2])))
    return rows, started


# What says why a phase failed: pytest's summary and assertion lines, Ansible's failures.
REASON = re.compile(r"^(FAILED |ERROR |E   |fatal: |failed: |ERROR! |CRITICAL )")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# molecule frames its tools' output: "  │ FAILED tests/...".
FRAME = re.compile(r"^\s*[│┃|]\s?")


def reasons(name, limit=12, width=300):
    """The lines of a failed phase's log that say why, at most `limit`, each cut to `width`."""
    path = log_path(name)
    if not os.path.exists(path):
        return ["(no log at %s)" % path]
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = [FRAME.sub("", ANSI.sub("", line)).rstrip() for line in handle]
    # pytest's short summary names every failed test: those first, then the first assertion lines.
    summary = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
    picked = summary + [line for line in lines if REASON.match(line) and line not in summary]
    if not picked:
        picked = [line for line in lines if line.strip()][-5:]
    cut = [line if len(line) <= width else line[: width - 3] + "..." for line in picked[:limit]]
    if len(picked) > limit:
        cut.append("... %d more; the whole output is in %s" % (len(picked) - limit, path))
    return cut


def report(warn_after, fail_after, top):
    rows, started = read()
    if not rows:
        print("no phases recorded in %s" % phases_file())
        return 0
    width = max(len(name) for name, _, _ in rows)
    print()
    print("%-*s  %9s  %s" % (width, "phase", "time", "result"))
    for name, seconds, rc in rows:
        print("%-*s  %9s  %s" % (width, name, fmt(seconds), "ok" if rc == 0 else "FAILED %d" % rc))
    summed = sum(seconds for _, seconds, _ in rows)
    wall = time.time() - started if started else summed
    print("%-*s  %9s  (sum of phases %s; phases may overlap)" % (width, "total (wall clock)", fmt(wall), fmt(summed)))
    failed = [name for name, _, rc in rows if rc != 0]
    for name in failed:
        print()
        print("why %s failed (%s):" % (name, log_path(name)))
        for line in reasons(name):
            print("  " + line)
    if failed:
        print()
    slowest = sorted(rows, key=lambda row: row[1], reverse=True)[:top]
    names = ", ".join("%s %s" % (name, fmt(seconds)) for name, seconds, _ in slowest)
    if fail_after and wall > fail_after:
        print(
            "BUDGET EXCEEDED: %s is past the hard limit of %s. Slowest phases: %s" % (fmt(wall), fmt(fail_after), names)
        )
        return 1
    if warn_after and wall > warn_after:
        print("WARNING: %s is past the budget of %s. Slowest phases: %s" % (fmt(wall), fmt(warn_after), names))
    else:
        print("within budget%s; slowest phases: %s" % (" (%s)" % fmt(warn_after) if warn_after else "", names))
    return 0


def reset():
    path = phases_file()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("#start\t%.0f\n" % time.time())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run")
    run_parser.add_argument("name")
    run_parser.add_argument("cmd", nargs=argparse.REMAINDER)
    mol = sub.add_parser("molecule")
    mol.add_argument("scenario")
    mol.add_argument("--molecule", default="molecule")
    mol.add_argument("--keep-lab", action="store_true", help="no last destroy: the next scenario uses the lab")
    mol.add_argument("--reuse-lab", action="store_true", help="leave out create and converge: run on the lab left up")
    rep = sub.add_parser("report")
    rep.add_argument("--warn-after", type=float, default=0, help="seconds; print a warning past it")
    rep.add_argument("--fail-after", type=float, default=0, help="seconds; exit 1 past it")
    rep.add_argument("--top", type=int, default=4)
    sub.add_parser("reset")
    args = parser.parse_args(argv)
    if args.command == "run":
        command = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        return run(args.name, command)
    if args.command == "molecule":
        return molecule(args.scenario, args.molecule, args.keep_lab, args.reuse_lab)
    if args.command == "report":
        return report(args.warn_after, args.fail_after, args.top)
    reset()
    return 0


if __name__ == "__main__":
    sys.exit(main())
