"""`kubetally retention plan|run|restore|cronjob`: archive old rows, delete them, restore them (docs/retention.md)."""

from kubetally.app.retention import CronJobRequest, PlanRequest, RestoreRequest, RunRequest, cronjob, plan, restore, run
from kubetally.cligen import Command

COMMANDS = (
    Command("plan", PlanRequest, plan, group="retention", spinner="planning..."),
    Command("run", RunRequest, run, group="retention", spinner="planning..."),
    Command("restore", RestoreRequest, restore, group="retention", spinner="reading the archive..."),
    Command("cronjob", CronJobRequest, cronjob, group="retention", spinner="writing the CronJob..."),
)
