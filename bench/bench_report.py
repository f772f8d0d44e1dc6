"""What every bench/*_report.py shares: reading RESULT lines from a run's
log, naming the CPU, and putting a section into RESULTS.md."""
import platform
import re


def read_log(path):
    """RESULT lines as dicts of key=value; FAILED and SKIPPED lines' text."""
    results, failed, skipped = [], [], []
    with open(path) as f:
        for line in f:
            if line.startswith("FAILED "):
                failed.append(line[7:].strip())
            elif line.startswith("SKIPPED "):
                skipped.append(line[8:].strip())
            elif line.startswith("RESULT "):
                results.append(dict(tok.split("=", 1) for tok in line.split()[1:] if "=" in tok))
    return results, failed, skipped


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def replace_section(text, heading, new):
    """Replace the "## HEADING" section (up to the next "## " heading) or append it."""
    m = re.search(r"^## " + re.escape(heading) + r"[^\n]*\n", text, flags=re.M)
    if not m:
        if not text.strip():
            text = "# Benchmark results\n\n"
        return text.rstrip("\n") + "\n\n" + new.rstrip("\n") + "\n"
    nxt = re.search(r"^## ", text[m.end():], flags=re.M)
    end = m.end() + nxt.start() if nxt else len(text)
    return text[: m.start()] + new.rstrip("\n") + ("\n\n" if nxt else "\n") + text[end:]
