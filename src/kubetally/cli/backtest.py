"""`kubetally backtest`: replay usage history to score right-sizing strategies."""

from kubetally.app.backtest import BacktestRequest, backtest
from kubetally.cligen import Command

COMMAND = Command("backtest", BacktestRequest, backtest, spinner="replaying...")
