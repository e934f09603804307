"""Reminders of the follow-up: milestones due soon, overdue milestones, evidence to review.

`flask --app wsgi plans remind` (for cron) e-mails them, and /planning/reminders shows the
same lists. As of today (America/Mexico_City), for every milestone not complete:
- due_soon: its end is today or within REMINDER_DAYS_AHEAD days (default 14);
- overdue: its end has passed;
and for every milestone with evidence pending review: awaiting_review.
Who is told: due_soon and overdue go to the implementers of the commitment's lead agency
(accounts with the implementer role and that agency) and to the monitors; awaiting_review to
the monitors, who review. Each (milestone, event, recipient) is sent once: a ReminderSent row
records it, so running the command again sends nothing new. Messages are in Spanish (accounts
keep no language yet).
"""

from __future__ import annotations

import smtplib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from app.database import write_transaction
from app.extensions import db
from app.i18n import localized
from app.models import Commitment, Milestone, Plan, User, UserRole
from app.models.plan import Evidence, ReminderSent, UserAgency
from app.services import audit, mail
from app.services.plans import lead_agencies_of
from app.util import local_today

EVENTS = ("overdue", "due_soon", "awaiting_review")
DEFAULT_LANGUAGE = "es_MX"


@dataclass(frozen=True)
class Item:
    event: str
    plan: Plan
    commitment: Commitment
    milestone: Milestone
    pending: int = 0  # evidence waiting for review (awaiting_review)


def items(as_of: date | None = None) -> dict[str, list[Item]]:
    """Return the reminder lists by event, each sorted by end date then plan and numbers."""
    day = as_of or local_today()
    ahead = day + timedelta(days=int(current_app.config.get("REMINDER_DAYS_AHEAD", 14)))
    found: dict[str, list[Item]] = {event: [] for event in EVENTS}
    pending = dict(db.session.execute(
        db.select(Evidence.milestone_id, db.func.count(Evidence.id))
        .where(Evidence.state == "pending", Evidence.milestone_id.is_not(None))
        .group_by(Evidence.milestone_id)).all())
    rows = db.session.execute(
        db.select(Milestone, Commitment, Plan).join(Commitment, Milestone.commitment)
        .join(Plan, Commitment.plan)
        .order_by(Milestone.ends_on, Plan.slug, Commitment.number, Milestone.number)).all()
    for milestone, commitment, plan in rows:
        done = milestone.completed_on is not None and milestone.completed_on <= day
        if not done and milestone.ends_on < day:
            found["overdue"].append(Item("overdue", plan, commitment, milestone))
        elif not done and milestone.ends_on <= ahead:
            found["due_soon"].append(Item("due_soon", plan, commitment, milestone))
        if pending.get(milestone.id):
            found["awaiting_review"].append(Item("awaiting_review", plan, commitment, milestone,
                                                 pending[milestone.id]))
    return found


def items_for(user, as_of: date | None = None) -> dict[str, list[Item]]:
    """Return the lists a staff account sees: all of them for coordinators and monitors; an
    implementer only their agencies' milestones due soon or overdue (as they are e-mailed)."""
    lists = items(as_of)
    if user.has_role("coordinator", "monitor"):
        return lists
    agencies = lead_agencies_of(user) or set()
    return {event: [item for item in found if event != "awaiting_review"
                    and item.commitment.lead_agency in agencies]
            for event, found in lists.items()}


def _accounts_with_role(role: str) -> list[User]:
    return list(db.session.scalars(
        db.select(User).join(UserRole).where(UserRole.role == role, User.active.is_(True))
        .order_by(User.email)))


def recipients(item: Item) -> list[User]:
    """Return who is told about an item: the agency's implementers and the monitors."""
    monitors = _accounts_with_role("monitor")
    if item.event == "awaiting_review":
        return monitors
    implementers = [user for user in _accounts_with_role("implementer")
                    if db.session.get(UserAgency, (user.id, item.commitment.lead_agency))]
    return implementers + [user for user in monitors if user not in implementers]


def _line(item: Item) -> str:
    description = localized(item.milestone.description)
    where = _("%(plan)s, commitment %(commitment)d, milestone %(milestone)d",
              plan=localized(item.plan.title), commitment=item.commitment.number,
              milestone=item.milestone.number)
    if item.event == "awaiting_review":
        detail = _("%(num)d piece(s) of evidence waiting for review", num=item.pending)
    elif item.event == "overdue":
        detail = _("overdue since %(day)s", day=item.milestone.ends_on.isoformat())
    else:
        detail = _("due on %(day)s", day=item.milestone.ends_on.isoformat())
    return f"- {where}: {description} ({detail}; {item.commitment.lead_agency})"


def _message(user: User, pending: list[Item]):
    headings = {
        "overdue": _("Overdue milestones"),
        "due_soon": _("Milestones due soon"),
        "awaiting_review": _("Evidence waiting for review"),
    }
    parts = [_("Hello,"), "",
             _("These are the action plan follow-up items that concern you today:")]
    for event in EVENTS:
        mine = [item for item in pending if item.event == event]
        if mine:
            parts += ["", headings[event] + ":"] + [_line(item) for item in mine]
    parts += ["", _("You receive each reminder once. Consulta Abierta")]
    subject = _("Action plan reminders: %(num)d item(s)", num=len(pending))
    return mail.build(user.email, subject, "\n".join(parts) + "\n")


def send(as_of: date | None = None, actor_label: str = "plans remind") -> dict:
    """E-mail every reminder not sent yet; return the counts of messages and reminders sent,
    and the recipients whose message could not be sent ("failed"; tried again next run)."""
    lists = items(as_of)
    by_user: dict[int, list[Item]] = defaultdict(list)
    users: dict[int, User] = {}
    sent = {(row.milestone_id, row.event, row.recipient)
            for row in db.session.scalars(db.select(ReminderSent))}
    for event in EVENTS:
        for item in lists[event]:
            for user in recipients(item):
                if (item.milestone.id, event, user.email) not in sent:
                    by_user[user.id].append(item)
                    users[user.id] = user
    messages = reminders = 0
    failed: list[str] = []
    for user_id, pending in by_user.items():
        user = users[user_id]
        with force_locale(DEFAULT_LANGUAGE):
            message = _message(user, pending)
        try:
            mail.send(message)
        except (OSError, smtplib.SMTPException) as error:
            # Not recorded: the next run tries this person's reminders again.
            failed.append(f"{user.email}: {error}")
            continue
        with write_transaction() as session:
            for item in pending:
                session.add(ReminderSent(milestone_id=item.milestone.id, event=item.event,
                                         recipient=user.email))
            audit.record("reminders.sent", actor_label=actor_label, object_type="user",
                         object_id=user.email, reminders=len(pending))
        messages += 1
        reminders += len(pending)
    return {"messages": messages, "reminders": reminders, "failed": failed}
