"""Fill the English catalog: messages are written in English, so each translates to itself.

Run by `make i18n-update`; entries someone translated by hand are kept.
"""

from pathlib import Path

from babel.messages.pofile import read_po, write_po

PATH = Path(__file__).resolve().parent.parent / "translations/en/LC_MESSAGES/messages.po"


def main() -> None:
    with PATH.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    for message in catalog:
        if not message.id:
            continue
        message.flags.discard("fuzzy")
        if isinstance(message.id, tuple):
            if not all(message.string):
                message.string = (message.id[0], message.id[1])
        elif not message.string:
            message.string = message.id
    with PATH.open("wb") as handle:
        write_po(handle, catalog, omit_header=False, no_location=True, width=100)


if __name__ == "__main__":
    main()
