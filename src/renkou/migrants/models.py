"""Floating population (流动人口): migrant records and the messages exchanged with other counties.

Every row carries ``county_code``: the county node it belongs to. One database normally holds one node; tests
and the benchmark run two nodes (two county codes) in one database. Writes go through ``migrants.services``,
reads through ``migrants.selectors``; the register is reached only through ``registry.selectors``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Direction(models.TextChoices):
    OUT = "out", _("Our resident living in another county")
    IN = "in", _("Resident of another county living here")


class MigrantRecord(models.Model):
    county_code = models.CharField(_("county"), max_length=6)
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    other_county_code = models.CharField(_("other county"), max_length=6)
    other_address = models.CharField(_("address in the other county"), max_length=200, blank=True)
    address_here = models.CharField(_("address here"), max_length=200, blank=True)
    # Linked when the register holds the person (always for OUT, when registered here for IN).
    person = models.ForeignKey("registry.Person", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", verbose_name=_("person"))
    name = models.CharField(_("name"), max_length=50)
    sex = models.CharField(_("sex"), max_length=1)
    birth_date = models.DateField(_("birth date"))
    id_number = models.CharField(_("ID number"), max_length=18, blank=True)
    since = models.DateField(_("since"))
    occupation = models.CharField(_("occupation"), max_length=200, blank=True)
    marital_status = models.CharField(_("marital status"), max_length=2, blank=True)
    marriage_change = models.CharField(_("change in marriage"), max_length=200, blank=True)
    children = models.PositiveSmallIntegerField(_("children"), null=True, blank=True)
    children_change = models.CharField(_("change in children"), max_length=200, blank=True)
    contraception = models.CharField(_("contraception (as reported, voluntary)"), max_length=200, blank=True)
    pregnant = models.BooleanField(_("pregnant"), default=False)
    certificate_number = models.CharField(_("marriage-and-birth certificate"), max_length=40, blank=True)
    # Submission (destination → origin): due by the monthly cut-off, submitted when the case record was sent.
    due_on = models.DateField(_("due on"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    created_at = models.DateTimeField(_("registered at"))
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        verbose_name = _("migrant record")
        verbose_name_plural = _("migrant records")
        indexes = [
            models.Index(fields=["county_code", "direction", "other_county_code"], name="migrant_county_dir"),
            models.Index(fields=["county_code", "due_on"], name="migrant_county_due"),
            models.Index(fields=["id_number"], name="migrant_id_number"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.direction} {self.other_county_code}"


class MessageKind(models.TextChoices):
    CASE_RECORD = "case_record", _("Case record")
    VERIFY_REQUEST = "verify_request", _("Verification request")
    FEEDBACK = "feedback", _("Feedback")
    BIRTH_NOTICE = "birth_notice", _("Birth notice")
    REJECTION = "rejection", _("Rejection")
    BATCH = "batch", _("Batch of messages")


class OutboxMessage(models.Model):
    """A message to another county, written in the same transaction as the change that caused it. The relay
    publishes it (JetStream ``Nats-Msg-Id`` = ``message_id``) and marks it sent only after the publish ack."""

    message_id = models.UUIDField(unique=True)
    county_code = models.CharField(max_length=6)  # the sender (this node)
    to_county = models.CharField(_("to county"), max_length=6)
    kind = models.CharField(_("kind"), max_length=16, choices=MessageKind.choices)
    body = models.BinaryField()
    person = models.ForeignKey("registry.Person", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    # Set when the receiver sent back a rejection.
    rejected_reason = models.CharField(_("rejected"), max_length=600, blank=True)
    # The batch (JetStream message, Nats-Msg-Id) it was last published in: a rejection of a whole batch names it.
    batch_id = models.UUIDField(null=True, blank=True)
    # Published alone, never in a batch (the receiver refused a batch as an unknown version: an older node).
    single = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["county_code", "sent_at", "id"], name="outbox_pending"),
            models.Index(fields=["person"], name="outbox_person"),
            models.Index(fields=["batch_id"], name="outbox_batch"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.county_code}→{self.to_county} {self.message_id}"


class InboxStatus(models.TextChoices):
    APPLIED = "applied", _("Applied")
    UNMATCHED = "unmatched", _("Unmatched: waiting for an officer")
    RESOLVED = "resolved", _("Resolved by an officer")
    REJECTED = "rejected", _("Rejected")
    DEAD = "dead", _("Dead letter: failed on every delivery")


class InboxMessage(models.Model):
    """Every message a county received, by message id: the unique constraint makes receipt idempotent (a
    redelivered message finds its row and changes nothing). The effect and this row commit together."""

    county_code = models.CharField(max_length=6)  # the receiver (this node)
    message_id = models.UUIDField()
    from_county = models.CharField(_("from county"), max_length=6, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=MessageKind.choices, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=InboxStatus.choices)
    reason = models.CharField(_("reason"), max_length=600, blank=True)
    body = models.BinaryField()  # as received (refused messages: the first bytes only)
    person = models.ForeignKey("registry.Person", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    received_at = models.DateTimeField(_("received at"))
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["county_code", "message_id"], name="inbox_once_per_message"),
        ]
        indexes = [
            models.Index(fields=["county_code", "status", "received_at"], name="inbox_county_status"),
            models.Index(fields=["person"], name="inbox_person"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_county}→{self.county_code} {self.message_id}"


class RequestRole(models.TextChoices):
    SENT = "sent", _("Sent")
    RECEIVED = "received", _("Received")


class RequestKind(models.TextChoices):
    VERIFY = "verify_request", _("Verification request")
    BIRTH_NOTICE = "birth_notice", _("Birth notice")


class ExchangeRequest(models.Model):
    """A verification request (协查) or a birth notice, sent or received, with its due date and its answer."""

    county_code = models.CharField(max_length=6)
    role = models.CharField(_("role"), max_length=8, choices=RequestRole.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=RequestKind.choices)
    # Which side this county is on for this request: origin (registration) or destination (residence).
    our_role = models.CharField(_("our role"), max_length=11)
    other_county_code = models.CharField(_("other county"), max_length=6)
    message_id = models.UUIDField()
    person = models.ForeignKey("registry.Person", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", verbose_name=_("person"))
    name = models.CharField(_("name"), max_length=50)
    sex = models.CharField(_("sex"), max_length=1)
    birth_date = models.DateField(_("birth date"))
    id_number = models.CharField(_("ID number"), max_length=18, blank=True)
    pregnant = models.BooleanField(_("pregnant"), default=False)
    fields = models.JSONField(default=list)
    detail = models.JSONField(default=dict)  # birth notice: the child; request: the note
    opened_on = models.DateField(_("opened on"))
    due_on = models.DateField(_("due on"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    matched = models.BooleanField(_("matched"), null=True, blank=True)
    verified = models.JSONField(default=dict)
    answer_note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["county_code", "role", "message_id"], name="request_once"),
        ]
        indexes = [
            models.Index(fields=["county_code", "role", "answered_at", "due_on"], name="request_open_due"),
            models.Index(fields=["county_code", "role", "opened_on"], name="request_opened"),
            models.Index(fields=["person"], name="request_person"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.role} {self.other_county_code} {self.due_on}"


class ExchangeError(models.Model):
    """The worker's recent errors (publish failures, broker outages), for ``renkou exchange status``."""

    county_code = models.CharField(max_length=6)
    at = models.DateTimeField()
    where = models.CharField(max_length=16)  # relay | consume
    message = models.CharField(max_length=500)

    class Meta:
        indexes = [models.Index(fields=["county_code", "-at"], name="exchange_error_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.where}: {self.message}"
