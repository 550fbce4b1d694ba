"""`kubetally baseline save|diff|list`: baselines in the history store."""

from kubetally.app.baseline import BaselineDiffRequest, BaselineListRequest, BaselineSaveRequest, diff, listing, save
from kubetally.cligen import Command

COMMANDS = (
    Command("save", BaselineSaveRequest, save, group="baseline", spinner="summarizing the window..."),
    Command("diff", BaselineDiffRequest, diff, group="baseline", spinner="comparing with the baseline..."),
    Command("list", BaselineListRequest, listing, group="baseline", spinner="reading the store..."),
)
