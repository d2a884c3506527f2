"""What a person recognises of a User-Agent header: the browser and the system, for the session list.

A small table of the browsers common in Vietnam, not a full parser: anything else is unknown.
Order matters: in-app and Chromium-based browsers also say "Chrome" and "Safari".
"""

from __future__ import annotations

import re

_BROWSERS = [
    (re.compile(r"\bZalo", re.I), "Zalo"),
    (re.compile(r"\bcoc_coc_browser/"), "Cốc Cốc"),
    (re.compile(r"\bSamsungBrowser/"), "Samsung Internet"),
    (re.compile(r"\bEdg(e|A|iOS)?/"), "Edge"),
    (re.compile(r"\bOPR/|\bOpera\b"), "Opera"),
    (re.compile(r"\bFirefox/|\bFxiOS/"), "Firefox"),
    (re.compile(r"\bChrome/|\bCriOS/|\bChromium/"), "Chrome"),
    (re.compile(r"\bVersion/[\d.]+.*\bSafari/|\b(iPhone|iPad).*\bMobile/"), "Safari"),
]

_SYSTEMS = [
    (re.compile(r"\bAndroid\b"), "Android"),
    (re.compile(r"\b(iPhone|iPad|iPod)\b"), "iOS"),
    (re.compile(r"\bWindows\b"), "Windows"),
    (re.compile(r"\bCrOS\b"), "ChromeOS"),
    (re.compile(r"\bMac OS X\b|\bMacintosh\b"), "macOS"),
    (re.compile(r"\bLinux\b|\bX11\b"), "Linux"),
]


def describe(user_agent: str | None) -> tuple[str | None, str | None]:
    """(browser, system) of a User-Agent header; None for what is not recognised."""
    text = user_agent or ""
    browser = next((name for pattern, name in _BROWSERS if pattern.search(text)), None)
    system = next((name for pattern, name in _SYSTEMS if pattern.search(text)), None)
    return browser, system
