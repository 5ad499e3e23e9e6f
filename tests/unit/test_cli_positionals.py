"""Images after a command's options, as argparse-based CLIs take them: argparse filled ``IMAGE*`` at the first
positional (tune's MODEL), so later images were "unrecognized arguments"."""

from __future__ import annotations

import pytest

from triton_console.tui import cli


@pytest.mark.parametrize(
    "argv, images",
    [
        (["tune", "m", "--set", "instance_group.count=1,2", "--json", "a.jpg", "dir"], ["a.jpg", "dir"]),
        (["tune", "m", "a.jpg", "--set", "instance_group.count=1", "b.jpg"], ["a.jpg", "b.jpg"]),
        (["bench", "--json", "a.jpg", "-m", "m", "b.jpg"], ["a.jpg", "b.jpg"]),
        (["classify", "a.jpg", "--json", "b.jpg"], ["a.jpg", "b.jpg"]),
    ],
)
def test_images_may_follow_options(argv, images):
    assert cli.parser(only=argv[0]).parse_args(argv).images == images


def test_an_unknown_option_is_still_refused():
    with pytest.raises(cli.UsageError) as refused:  # main() says it in one line (and as JSON under --json)
        cli.parser(only="bench").parse_args(["bench", "--bogus", "v", "a.jpg"])
    assert refused.value.message == "triton-console bench: unrecognized arguments: --bogus"
    assert (refused.value.code, refused.value.exit_code) == ("usage", 2)
