"""HTML and Markdown artifacts (``system.HTML``, ``system.Markdown``) rendered safe to embed.

Both return an HTML fragment sanitized with nh3 (ammonia): scripts, styles, event
handlers, iframes, forms and ``javascript:`` URLs are removed; links get
``rel="noopener noreferrer"``; images may use ``data:`` URLs of raster image types only
(reports often inline their plots that way). Markdown is rendered with markdown-it-py
(CommonMark plus tables and strikethrough), then sanitized the same way, so raw HTML in
Markdown is as safe as HTML artifacts.
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

# Tags beyond nh3's defaults that reports use and that cannot run code.
_EXTRA_TAGS = {"tfoot", "section", "main"}
_TAGS = (set(nh3.ALLOWED_TAGS) | _EXTRA_TAGS) - {"map", "area"}
_ATTRIBUTES: dict[str, set[str]] = {
    tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()
}
_ATTRIBUTES.setdefault("*", set()).update({"title", "lang", "dir"})
_ATTRIBUTES.setdefault("code", set()).add("class")  # markdown-it's "language-python"
_ATTRIBUTES.setdefault("th", set()).add("style")  # markdown table alignment
_ATTRIBUTES.setdefault("td", set()).add("style")
_URL_SCHEMES = {"http", "https", "mailto", "data"}
_DATA_IMAGE = re.compile(
    r"^\s*data:image/(png|jpeg|jpg|gif|webp|bmp);base64,[A-Za-z0-9+/=\s]*$", re.I
)
_STYLE_PROPERTIES = {"text-align"}


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if value.strip().lower().startswith("data:") and not (
        tag == "img" and attribute == "src" and _DATA_IMAGE.match(value)
    ):
        return None  # data: URLs only as raster images
    return value


def _decode(source: str | bytes) -> str:
    if isinstance(source, bytes):
        return source.decode("utf-8", errors="replace")
    if isinstance(source, str):
        return source
    raise TypeError(f"document content must be str or bytes, got {type(source).__name__}")


def render_html(source: str | bytes) -> str:
    """An HTML artifact's content, sanitized (a fragment to embed in a page)."""
    return nh3.clean(
        _decode(source),
        tags=_TAGS,
        clean_content_tags={"script", "style", "noscript", "template", "iframe", "object"},
        attributes=_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
        filter_style_properties=_STYLE_PROPERTIES,
    )


_MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def render_markdown(source: str | bytes) -> str:
    """A Markdown artifact's content as sanitized HTML."""
    return render_html(_MARKDOWN.render(_decode(source)))
