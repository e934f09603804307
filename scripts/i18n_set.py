"""Set translations in a catalog from a JSON object {msgid: msgstr}.

Usage: python scripts/i18n_set.py es translations-es.json
For plural messages, the key is the singular msgid and the value a list of forms.
"""

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent


def main(lang: str, source: str) -> None:
    path = ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po"
    strings = json.loads(Path(source).read_text(encoding="utf-8"))
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    unknown = []
    for msgid, msgstr in strings.items():
        message = catalog.get(msgid)
        if message is None:
            unknown.append(msgid)
            continue
        message.string = tuple(msgstr) if isinstance(msgstr, list) else msgstr
        message.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalog, omit_header=False, no_location=True, width=100)
    for msgid in unknown:
        print(f"not in the catalog (run make i18n-update first): {msgid!r}", file=sys.stderr)
    left = [m.id for m in catalog if m.id and not (all(m.string) if isinstance(m.id, tuple)
                                                    else m.string)]
    print(f"{path.relative_to(ROOT)}: {len(left)} untranslated")
    for msgid in left:
        print(f"  {msgid!r}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
