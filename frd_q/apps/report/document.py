"""A report as a list of blocks (headings, paragraphs, tables, images) and its two renderings: Markdown with the
PNGs beside it, and one self-contained HTML page with the PNGs embedded."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Block:
    kind: str  # "h1" | "h2" | "p" | "table" | "img"
    content: object


def to_markdown(blocks: list[Block], base: Path) -> str:
    out = []
    for b in blocks:
        if b.kind == "h1":
            out.append(f"# {b.content}\n")
        elif b.kind == "h2":
            out.append(f"## {b.content}\n")
        elif b.kind == "p":
            out.append(f"{b.content}\n")
        elif b.kind == "img":
            out.append(f"![{b.content.stem}]({b.content.relative_to(base)})\n")
        elif b.kind == "table":
            rows = b.content
            out.append("| " + " | ".join(rows[0]) + " |")
            out.append("|" + "---|" * len(rows[0]))
            out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
            out.append("")
    return "\n".join(out)


def to_html(blocks: list[Block]) -> str:
    import re

    def inline(text: str) -> str:
        text = html.escape(text)
        text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
        return re.sub(r"`(.+?)`", r"<code>\1</code>", text)

    body = []
    for b in blocks:
        if b.kind in ("h1", "h2"):
            body.append(f"<{b.kind}>{inline(b.content)}</{b.kind}>")
        elif b.kind == "p":
            body.append(f"<p>{inline(b.content)}</p>")
        elif b.kind == "img":
            data = base64.b64encode(b.content.read_bytes()).decode()
            body.append(f'<p><img alt="{b.content.stem}" src="data:image/png;base64,{data}"></p>')
        elif b.kind == "table":
            rows = b.content
            head = "".join(f"<th>{inline(c)}</th>" for c in rows[0])
            cells = "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in r) + "</tr>" for r in rows[1:])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>")
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;line-height:1.4}"
             "table{border-collapse:collapse;font-size:12px;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px;"
             "text-align:right}td:first-child,th:first-child{text-align:left}img{max-width:100%}")
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>frd_q sweep report</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
