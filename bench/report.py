"""How a bench script ends: its markdown table printed, and with `--out DIR` kept as DIR/NAME.md and DIR/NAME.json."""
import json
from pathlib import Path


def publish(text: str, out: Path | None, name: str, data) -> None:
    "Print `text`; with `out`, write it to out/NAME.md and `data` (JSON-serialisable) to out/NAME.json."
    print(text)
    if out is None: return
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.md").write_text(text)
    (out / f"{name}.json").write_text(json.dumps(data, indent=1))
