"""A larger English corpus for the scale study, from Debian's documentation packages: the one large
body of English prose these machines reach (a package registry, no dataset hub). Writes
`debian_docs_en.txt.gz` (one document per source file, separated by `<|endoftext|>` lines, as
`altgrad.data.text_documents` reads them) and `debian_docs_en.md` (what went in: each package's
version, SHA-256, licence, files, characters and GPT-2 tokens), both beside this file.

    python data/build_debian_docs.py   # apt-get and dpkg-deb (Debian, Ubuntu); 250 MB downloaded

Each package is fetched at the version pinned below (`apt-get download`; an error names a version
the mirror no longer has). What is taken from each is the text its authors wrote: reStructuredText,
POD, AsciiDoc and plain-text sources where the package ships them, else its HTML pages (English
only) with tags, scripts and styles stripped; lines repeated on many pages of one package
(navigation, footers) are dropped; a file whose text another file already gave is dropped. Code
blocks stay: the documentation is technical English with code in it."""

import argparse
import fnmatch
import gzip
import hashlib
import re
import subprocess
import sys
import tempfile
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from altgrad.data import DOC_SEPARATOR, gpt2_tokenizer
from altgrad.files import atomic_write, atomic_write_text

# package: (version, licence (from its copyright file), the files taken: globs under its root)
PACKAGES = {
    "linux-doc-6.1": (
        "6.1.176-1",
        "GPL-2 (the Linux kernel's documentation)",
        [
            "usr/share/doc/linux-doc-6.1/Documentation/*.rst.gz",
            "usr/share/doc/linux-doc-6.1/Documentation/*.txt.gz",
        ],
    ),
    "python3.11-doc": (
        "3.11.2-6+deb12u8",
        "PSF-2 (Python Software Foundation License)",
        ["usr/share/doc/python3.11/html/_sources/*.rst.txt"],
    ),
    "perl-doc": ("5.36.0-7+deb12u3", "GPL-1+ or Artistic (Perl's)", ["usr/share/perl/*.pod"]),
    "postgresql-doc-15": (
        "15.18-0+deb12u1",
        "PostgreSQL License",
        ["usr/share/doc/postgresql-doc-15/html/*.html"],
    ),
    "git-doc": ("1:2.39.5-0+deb12u3", "GPL-2", ["usr/share/doc/git-doc/*.txt"]),
    "debian-handbook": (
        "11.20220922",
        "GPL-2+ or CC-BY-SA-3.0",
        ["usr/share/doc/debian-handbook/html/en-US/*.html"],
    ),
    "rust-doc": (
        "1.63.0+dfsg1-2",
        "MIT or Apache-2.0",  # the books, not the generated API pages
        [
            f"usr/share/doc/rust-doc/html/{book}/*.html"
            for book in (
                "book",
                "reference",
                "nomicon",
                "rust-by-example",
                "edition-guide",
                "embedded-book",
                "rustc",
                "rustdoc",
                "unstable-book",
            )
        ],
    ),
    "python-django-doc": (
        "3:3.2.25-0+deb12u3",
        "BSD-3-Clause",
        ["usr/share/doc/python-django-doc/html/*.html"],
    ),
    "python-scipy-doc": (
        "1.10.1-2",
        "BSD-3-Clause",
        ["usr/share/doc/python-scipy-doc/html/*.html"],
    ),
    "python-sklearn-doc": (
        "1.2.1+dfsg-1",
        "BSD-3-Clause",
        ["usr/share/doc/python-sklearn-doc/html/_sources/*.txt"],
    ),
    "python-pandas-doc": (
        "1.5.3+dfsg-2",
        "BSD-3-Clause",
        ["usr/share/doc/python-pandas-doc/html/_sources/*.txt"],
    ),
    "nodejs-doc": ("18.20.4+dfsg-1~deb12u2", "Expat", ["usr/share/doc/nodejs/api/*.html"]),
    "sqlite3-doc": ("3.40.1-2+deb12u2", "public domain", ["usr/share/doc/sqlite3/*.html"]),
    "octave-doc": ("7.3.0-2", "GPL-3+", ["usr/share/doc/octave/*.html"]),
}
BOILERPLATE_PAGES = 5  # a line on this many pages of one package or more is navigation, not text
BLOCK_TAGS = {
    "p",
    "div",
    "li",
    "pre",
    "br",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "dt",
    "dd",
    "table",
    "section",
    "blockquote",
    "title",
}


class _HtmlText(HTMLParser):
    "An HTML page's text, a line per block element, without scripts, styles and navigation."

    def __init__(self):
        super().__init__()
        self.parts, self.hidden = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "nav", "head"):
            self.hidden += 1
        if tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "nav", "head"):
            self.hidden = max(0, self.hidden - 1)
        if tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def page_text(path: Path) -> str:
    "A source file's text, lines with their spaces folded (HTML: its text)."
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    text = raw.decode("utf-8", errors="replace")
    if path.name.endswith((".html", ".html.gz")):
        parser = _HtmlText()
        parser.feed(text)
        text = "".join(parser.parts)
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line and line != DOC_SEPARATOR)


def package_documents(root: Path, patterns: list[str]) -> list[str]:
    "One unpacked package's documents: its files' texts, boilerplate and repeated texts dropped."
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and not p.is_symlink()
        and any(fnmatch.fnmatch(str(p.relative_to(root)), pattern) for pattern in patterns)
    )
    texts = [page_text(p) for p in files]
    pages_with = Counter(line for text in texts for line in set(text.split("\n")))
    documents, seen = [], set()
    for text in texts:
        kept = "\n".join(
            line
            for line in text.split("\n")
            if pages_with[line] < BOILERPLATE_PAGES or len(line) > 200
        )  # a long line repeated is text quoted, not a menu
        digest = hashlib.sha256(kept.encode()).digest()
        if kept and digest not in seen:
            seen.add(digest)
            documents.append(kept)
    return documents


def fetch(package: str, version: str, into: Path) -> Path:
    "The package's .deb at the pinned version, downloaded into `into`."
    done = subprocess.run(
        ["apt-get", "download", f"{package}={version}"], cwd=into, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"apt-get download {package}={version} failed (the mirror may no longer hold that "
            f"version; update PACKAGES): {done.stderr.strip()[-500:]}"
        )
    return next(into.glob(f"{package}_*.deb"))


def main(out_dir: Path):
    tokenizer = gpt2_tokenizer()
    rows, everything = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for package, (version, licence, patterns) in PACKAGES.items():
            deb = fetch(package, version, Path(tmp))
            root = Path(tmp) / package
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
            documents = package_documents(root, patterns)
            tokens = sum(len(tokenizer.encode_ordinary(d)) for d in documents)
            rows.append(
                (
                    package,
                    version,
                    hashlib.sha256(deb.read_bytes()).hexdigest(),
                    licence,
                    len(documents),
                    sum(map(len, documents)),
                    tokens,
                )
            )
            everything += documents
            print(f"{package}: {len(documents)} documents, {tokens / 1e6:.1f} M tokens", flush=True)
    text = f"\n\n{DOC_SEPARATOR}\n\n".join(everything) + "\n"
    corpus = out_dir / "debian_docs_en.txt.gz"
    atomic_write(corpus, lambda f: f.write(gzip.compress(text.encode(), mtime=0)))
    total = sum(r[6] for r in rows)
    lines = [
        "# debian_docs_en: English documentation from Debian packages",
        "",
        "Written by `data/build_debian_docs.py` (its docstring says what is taken from each "
        "package "
        "and how). "
        f"`{corpus.name}`: {len(everything)} documents, {len(text) / 1e6:.1f} M characters, "
        f"{total / 1e6:.1f} M GPT-2 tokens, "
        f"SHA-256 `{hashlib.sha256(corpus.read_bytes()).hexdigest()}`. "
        "Not committed (its size); the command rebuilds it.",
        "",
        "| package | version | .deb SHA-256 | licence | documents | characters | GPT-2 tokens |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {p} | {v} | `{h[:16]}…` | {lic} | {n} | {c / 1e6:.1f} M | {t / 1e6:.1f} M |"
        for p, v, h, lic, n, c, t in rows
    ]
    lines += [
        "",
        "Use it with `data_source=text data_path=data/debian_docs_en.txt.gz`; "
        "`python bench/ladder.py --data-path data/debian_docs_en.txt.gz` sizes the ladder on it.",
    ]
    atomic_write_text(out_dir / "debian_docs_en.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    main(parser.parse_args().out)
