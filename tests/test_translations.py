"""The Simplified Chinese interface: complete, compiled, and what a zh-hans visitor gets.

makemessages runs on a copy of the project, so the repository's catalog is only read: a new
English string without a translation fails here, listed, until `make i18n` and a translator add it.
"""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from generation.models import DraftStatus

PROJECT = Path(django_settings.BASE_DIR)
LOCALE = "zh_Hans"  # the folder name; the language code is zh-hans
PO = PROJECT / "locale" / LOCALE / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
# What `make i18n` leaves out (hidden folders are skipped by makemessages itself); keep in step.
NOT_SCANNED = ["var", "bench", "tests", "docs", "static"]
GETTEXT_TOOLS = ("xgettext", "msgmerge", "msguniq", "msgattrib", "msgfmt")


# --- A small PO reader (polib is not a dependency) ---------------------------------------------


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        context = f"[{self.msgctxt}] " if self.msgctxt is not None else ""
        return context + (
            f"{self.msgid!r} / {self.msgid_plural!r}" if self.msgid_plural else repr(self.msgid)
        )


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(text: str) -> str:
    text = text.strip()
    assert text.startswith('"') and text.endswith('"'), f"not a PO string: {text}"
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])


def read_po(path: Path) -> tuple[Entry, list[Entry]]:
    """(header, messages) of a PO file; obsolete (#~) entries are left out."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int] | None = None  # the keyword a continuation line extends
    seen_msgid = False

    def finish() -> None:
        nonlocal current, target, seen_msgid
        if current is not None and seen_msgid:
            entries.append(current)
        current, target, seen_msgid = None, None, False

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#~"):
            if not line:
                finish()
            continue
        if line.startswith("#") and current is not None and current.msgstr:
            finish()  # comments of the next entry with no blank line between
        if current is None:
            current = Entry()
        if line.startswith("#,"):
            current.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            assert target is not None, f"{path}: a string with no keyword: {line}"
            name, index = target
            if name == "msgstr":
                current.msgstr[index] += _unquote(line)
            else:
                setattr(current, name, (getattr(current, name) or "") + _unquote(line))
            continue
        keyword, _, rest = line.partition(" ")
        if keyword in {"msgctxt", "msgid"} and seen_msgid and current.msgstr:
            finish()
            current = Entry()
        if keyword == "msgctxt":
            current.msgctxt, target = _unquote(rest), ("msgctxt", 0)
        elif keyword == "msgid":
            current.msgid, target, seen_msgid = _unquote(rest), ("msgid", 0), True
        elif keyword == "msgid_plural":
            current.msgid_plural, target = _unquote(rest), ("msgid_plural", 0)
        elif match := re.fullmatch(r"msgstr(?:\[(\d+)\])?", keyword):
            index = int(match.group(1) or 0)
            current.msgstr[index], target = _unquote(rest), ("msgstr", index)
        else:
            raise AssertionError(f"{path}: cannot read the line {raw!r}")
    finish()
    headers = [e for e in entries if e.msgid == "" and e.msgctxt is None]
    assert len(headers) == 1, f"{path}: expected one header entry, found {len(headers)}"
    return headers[0], [e for e in entries if e is not headers[0]]


def header_fields(header: Entry) -> dict[str, str]:
    lines = (line.partition(":") for line in header.msgstr.get(0, "").splitlines())
    return {name.strip(): value.strip() for name, _, value in lines if name.strip()}


def problems_of(messages: list[Entry], nplurals: int) -> tuple[list[str], list[str]]:
    """(untranslated, fuzzy) labels: a plural entry needs every one of the language's forms."""
    untranslated, fuzzy = [], []
    for entry in messages:
        forms = range(nplurals) if entry.msgid_plural is not None else range(1)
        if any(not entry.msgstr.get(i, "").strip() for i in forms):
            untranslated.append(entry.label)
        if "fuzzy" in entry.flags:
            fuzzy.append(entry.label)
    return untranslated, fuzzy


def require_gettext() -> None:
    missing = [tool for tool in GETTEXT_TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"GNU gettext is needed to check the translations ({', '.join(missing)} not found): "
            "install it (apt-get install gettext), it is not optional for this suite."
        )


# --- The catalog -------------------------------------------------------------------------------


def test_the_catalog_header_is_for_simplified_chinese():
    header, _ = read_po(PO)
    fields = header_fields(header)
    assert "fuzzy" not in header.flags, "the header is fuzzy: msgfmt would drop the charset and plurals"
    assert fields["Language"] == LOCALE
    assert fields["Content-Type"] == "text/plain; charset=UTF-8"
    assert fields["Plural-Forms"] == "nplurals=1; plural=0;"


def test_every_interface_string_has_a_chinese_translation(tmp_path, settings, monkeypatch):
    """makemessages over a copy of the sources: every msgid it finds is translated, none fuzzy."""
    require_gettext()
    copy = tmp_path / "project"
    skip = {*NOT_SCANNED, "locale"}
    for item in PROJECT.iterdir():
        if item.name.startswith(".") or item.name in skip or item.name.endswith(".egg-info"):
            continue
        if item.is_dir():
            shutil.copytree(item, copy / item.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            copy.mkdir(exist_ok=True)
            shutil.copy2(item, copy / item.name)
    shutil.copytree(PROJECT / "locale", copy / "locale")
    settings.LOCALE_PATHS = [copy / "locale"]
    monkeypatch.chdir(copy)

    call_command(
        "makemessages",
        locale=[LOCALE],
        ignore_patterns=NOT_SCANNED,
        add_location="file",
        no_obsolete=True,
        verbosity=0,
    )

    header, messages = read_po(copy / "locale" / LOCALE / "LC_MESSAGES" / "django.po")
    assert len(messages) > 100, "makemessages found almost nothing: is it scanning the project?"
    untranslated, fuzzy = problems_of(messages, nplurals=1)
    hint = "Run `make i18n`, translate in locale/zh_Hans/LC_MESSAGES/django.po and compile again."
    assert not untranslated, f"{len(untranslated)} strings have no Chinese translation. {hint}\n" + "\n".join(
        untranslated
    )
    assert not fuzzy, f"{len(fuzzy)} translations are fuzzy (a guess to check). {hint}\n" + "\n".join(fuzzy)
    assert "fuzzy" not in header.flags


def test_translations_keep_placeholders_markup_and_the_product_name():
    _, messages = read_po(PO)
    placeholder = re.compile(r"%\([^)]+\)[sdif]|%%|\{[^{}]*\}")
    tag = re.compile(r"</?[a-zA-Z][^>]*>")
    wrong = []
    for entry in messages:
        sources = [entry.msgid] + ([entry.msgid_plural] if entry.msgid_plural else [])
        for text in entry.msgstr.values():
            for pattern in (placeholder, tag):
                if sorted(pattern.findall(text)) != sorted(pattern.findall(sources[-1])):
                    wrong.append(f"{entry.label} → {text!r}")
            if "Shop Copilot" in entry.msgid and "Shop Copilot" not in text:
                wrong.append(f"{entry.label} → {text!r} (keep the product name)")
    assert not wrong, "\n".join(wrong)


def test_the_committed_mo_is_compiled_from_the_committed_po(tmp_path):
    """The .mo is committed so no machine needs gettext at run time: it must match the .po."""
    require_gettext()
    assert MO.exists(), f"{MO} is missing: run `make i18n`"
    fresh = tmp_path / "django.mo"
    result = subprocess.run(
        ["msgfmt", "--check-format", "-o", str(fresh), str(PO)], capture_output=True, text=True
    )
    assert result.returncode == 0, f"msgfmt refuses {PO}:\n{result.stderr}"
    with MO.open("rb") as committed, fresh.open("rb") as compiled:
        committed_catalog = gettext.GNUTranslations(committed)._catalog
        compiled_catalog = gettext.GNUTranslations(compiled)._catalog
    stale = sorted(
        str(key)
        for key in committed_catalog.keys() | compiled_catalog.keys()
        if committed_catalog.get(key) != compiled_catalog.get(key)
    )
    assert not stale, f"{MO.name} is older than {PO.name}; run `make i18n`. Differing: {stale[:20]}"


# --- What a visitor sees -----------------------------------------------------------------------


def test_lazy_labels_follow_the_active_language():
    with translation.override("zh-hans"):
        assert str(DraftStatus.ACCEPTED.label) == "已采纳"
    with translation.override("en"):
        assert str(DraftStatus.ACCEPTED.label) == "Accepted"


@pytest.mark.django_db
def test_the_login_page_follows_the_browser_language(client):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.8")
    html = page.content.decode()
    assert page["Content-Language"] == "zh-hans"
    assert '<html lang="zh-hans">' in html
    assert "登录以管理你的商品目录。" in html
    assert "用户名" in html  # Django's own strings (the login form) come in Chinese too
    assert "Sign in" not in html

    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    html = page.content.decode()
    assert '<html lang="en">' in html
    assert "Sign in to manage your catalog." in html


@pytest.mark.django_db
def test_the_language_cookie_chooses_chinese(client, merchant_account):
    client.force_login(merchant_account.user)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    html = client.get(reverse("catalog:product_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="zh-hans">' in html
    assert "<h1>商品目录</h1>" in html


@pytest.mark.django_db
def test_the_switcher_changes_the_merchant_pages_and_back(client, merchant_account):
    client.force_login(merchant_account.user)
    catalog = reverse("catalog:product_list")
    english = client.get(catalog).content.decode()
    assert '<html lang="en">' in english
    assert "<h1>Catalog</h1>" in english
    assert 'value="zh-hans"' in english and "简体中文" in english

    switched = client.post(reverse("set_language"), {"language": "zh-hans", "next": catalog})
    assert switched.status_code == 302 and switched["Location"] == catalog
    chinese = client.get(catalog).content.decode()
    assert '<html lang="zh-hans">' in chinese
    assert "<h1>商品目录</h1>" in chinese
    assert "审核队列" in chinese and "退出登录" in chinese and "全部文案状态" in chinese
    assert "Review queue" not in chinese
    queue = client.get(reverse("generation:review_queue")).content.decode()
    assert "<h1>审核队列</h1>" in queue and "没有待审核的草稿" in queue

    client.post(reverse("set_language"), {"language": "en", "next": catalog})
    back = client.get(catalog).content.decode()
    assert '<html lang="en">' in back
    assert "<h1>Catalog</h1>" in back
    assert "商品目录" not in back
