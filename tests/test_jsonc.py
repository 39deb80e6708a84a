"""The JSONC reader that the tests parse VS Code's files with reads them as VS Code does."""

from __future__ import annotations

import json

import jsonc
import pytest

DOCUMENT = """// settings
{
  "url": "http://example.org/*not a comment*/",  // a comment after a value
  /* a block comment,
     over two lines */
  "quote": "say \\"hi\\" // still text",
  "list": [1, 2,],
  "nested": {"a": 1, /* between */ },
}
"""


def test_comments_and_trailing_commas_go_and_strings_stay() -> None:
    assert jsonc.loads(DOCUMENT) == {
        "url": "http://example.org/*not a comment*/",
        "quote": 'say "hi" // still text',
        "list": [1, 2],
        "nested": {"a": 1},
    }


def test_a_syntax_error_keeps_its_line_number() -> None:
    broken = DOCUMENT.replace('"list": [1, 2,],', '"list": [1 2],')
    with pytest.raises(json.JSONDecodeError) as error:
        jsonc.loads(broken)
    assert error.value.lineno == 7


def test_an_unterminated_block_comment_is_an_error() -> None:
    with pytest.raises(ValueError, match="unterminated /\\* comment starting on line 2"):
        jsonc.loads('{\n  /* open\n  "a": 1\n}')
