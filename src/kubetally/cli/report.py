"""`kubetally report`: one self-contained HTML file for the business owner."""

from kubetally.app.report import ReportRequest, report
from kubetally.cligen import Command

COMMAND = Command("report", ReportRequest, report, spinner="writing the report...")
