"""The session list names the browser and the system, not the raw User-Agent header."""

from __future__ import annotations

import pytest

from idsvc.useragent import describe

AGENTS = [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
     "Safari/537.36", ("Chrome", "Windows")),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
     "Safari/537.36 Edg/131.0.0.0", ("Edge", "Windows")),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
     "Safari/605.1.15", ("Safari", "macOS")),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/18.1 Mobile/15E148 Safari/604.1", ("Safari", "iOS")),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", ("Chrome", "iOS")),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", ("Firefox", "Linux")),
    ("Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", ("Firefox", "Android")),
    ("Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 "
     "Chrome/122.0.0.0 Mobile Safari/537.36", ("Samsung Internet", "Android")),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) coc_coc_browser/136.0.114 "
     "Chrome/130.0.6723.114 Safari/537.36", ("Cốc Cốc", "Windows")),
    ("Mozilla/5.0 (Linux; Android 13; 2201117TG Build/TKQ1.221114.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Version/4.0 Chrome/131.0.6778.39 Mobile Safari/537.36 Zalo android/12110512 ZaloTheme/light ZaloLanguage/vi",
     ("Zalo", "Android")),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Mobile/15E148 Zalo iOS/566 ZaloTheme/light ZaloLanguage/vn", ("Zalo", "iOS")),
    ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
     "Safari/537.36", ("Chrome", "ChromeOS")),
    ("curl/8.5.0", (None, None)),
    ("", (None, None)),
    (None, (None, None)),
]


@pytest.mark.parametrize(("user_agent", "expected"), AGENTS)
def test_common_browsers_and_systems_are_recognised(user_agent, expected) -> None:
    assert describe(user_agent) == expected


def test_a_header_cut_at_200_characters_is_still_recognised() -> None:
    cut = AGENTS[8][0][:120]  # the column keeps 200 characters; the browser's name comes early enough
    assert describe(cut) == ("Cốc Cốc", "Windows")
