"""The training programme: who is trained (sectors, agencies), what is offered and where."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from training.dates import working_days_before
from training.page_version import PagesChangingQuerySet, pages_changed

if TYPE_CHECKING:
    from collections.abc import Iterable


ZERO = Decimal("0.00")


class PriceBand(models.Model):
    """Sectors grouped for pricing, e.g. statutory partner / voluntary / independent."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.CharField(max_length=250, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class Sector(models.Model):
    """An agency sector of the annual report's Appendix E (Schools, Health, Police…)."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    price_band = models.ForeignKey(PriceBand, on_delete=models.PROTECT, related_name="sectors")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class Agency(models.Model):
    """A school, nursery, practice, team or force whose staff are trained."""

    name = models.CharField(max_length=200, unique=True)
    sector = models.ForeignKey(Sector, on_delete=models.PROTECT, related_name="agencies")
    address = models.TextField(blank=True, help_text="Postal address printed on invoices.")
    invoice_contact_name = models.CharField(max_length=200, blank=True)
    invoice_contact_email = models.EmailField(blank=True)
    purchase_order_required = models.BooleanField(
        default=False, help_text="Invoice bookings must quote a purchase-order number."
    )
    subsidised_places_per_year = models.PositiveIntegerField(
        default=0,
        help_text=(
            "Fully subsidised places per financial year (April–March), given in return for "
            "lending a venue free of charge."
        ),
    )
    approved = models.BooleanField(
        default=True, help_text="Agencies proposed by practitioners wait for approval."
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="proposed_agencies",
    )
    email_domains = models.TextField(
        blank=True,
        help_text=(
            "Email domains of the agency's staff, one per line (e.g. blackdown.somerset.sch.uk). "
            "Someone who has verified an address at one of them is a member at once; anyone "
            "else waits for a booker or the training team to approve them."
        ),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return self.name

    @property
    def domains(self) -> frozenset[str]:
        """The registered domains, lower case, without a leading '@'."""
        parts = self.email_domains.replace(",", "\n").split()
        return frozenset(part.strip().lstrip("@").lower() for part in parts if part.strip())

    def owns_address(self, email: str) -> bool:
        """Whether ``email`` is at one of the agency's registered domains (exactly, not a
        sub-domain: a domain is the administrator's statement about one mail system)."""
        _, at, domain = email.strip().lower().rpartition("@")
        return bool(at) and domain in self.domains


class Area(models.TextChoices):
    TAUNTON = "taunton", "Taunton"
    BRIDGWATER = "bridgwater", "Bridgwater"
    YEOVIL = "yeovil", "Yeovil"
    GLASTONBURY = "glastonbury", "Glastonbury"
    MINEHEAD = "minehead", "Minehead"
    FROME = "frome", "Frome"
    OTHER = "other", "Other"


class VenueMode(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    ONLINE = "online", "Online"
    HYBRID = "hybrid", "Hybrid (in person and online)"


class Venue(models.Model):
    """Where sessions happen: a room, an online meeting, or both (hybrid).

    The joining link of an online or hybrid venue is released only to confirmed attendees
    (their confirmation, reminder and own booking page), never on a public page.
    """

    name = models.CharField(max_length=200, unique=True)
    mode = models.CharField(max_length=20, choices=VenueMode.choices, default=VenueMode.IN_PERSON)
    address = models.TextField(blank=True, help_text="Leave empty for an online-only venue.")
    postcode = models.CharField(max_length=10, blank=True)
    area = models.CharField(max_length=20, choices=Area.choices)
    directions = models.TextField(blank=True, help_text="Parking, access and how to find the room.")
    lent_by = models.ForeignKey(
        Agency,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="venues_lent",
        help_text="Partner agency that lends this venue free of charge.",
    )
    joining_link = models.URLField(
        max_length=500,
        blank=True,
        help_text="The online meeting's link: sent only to confirmed attendees.",
    )
    joining_instructions = models.TextField(
        blank=True, help_text="Meeting ID, passcode or what to install: sent with the link."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}, {self.get_area_display()}"

    def clean(self) -> None:
        errors = {}
        if self.is_online and not self.joining_link:
            errors["joining_link"] = "An online or hybrid venue needs the link people join by."
        if self.is_in_person and not self.address.strip():
            errors["address"] = "A venue people come to needs its address."
        if errors:
            raise ValidationError(errors)

    @property
    def is_online(self) -> bool:
        """Attendees may join online (an online or hybrid venue)."""
        return self.mode in (VenueMode.ONLINE, VenueMode.HYBRID)

    @property
    def is_in_person(self) -> bool:
        return self.mode in (VenueMode.IN_PERSON, VenueMode.HYBRID)


class Trainer(models.Model):
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    biography = models.TextField(blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="trainer",
        help_text="The trainer's login, so they can open their sessions' registers.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CourseKind(models.TextChoices):
    COURSE = "course", "Course"
    MAPIG = "mapig", "MAPIG session"
    CONFERENCE = "conference", "Conference"


class SafeguardingLevel(models.TextChoices):
    LEVEL_1 = "1", "Level 1 – awareness"
    LEVEL_2 = "2", "Level 2 – multi-agency working"
    LEVEL_3 = "3", "Level 3 – specialist"
    LEVEL_4 = "4", "Level 4 – designated leads"


class ApprovalRule(models.TextChoices):
    NONE = "none", "No approval needed"
    MANAGER = "manager", "The line manager's approval"
    MANAGER_AND_TEAM = "manager_and_team", "The line manager's, then the training team's"


class Course(models.Model):
    title = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=200, unique=True, blank=True)
    kind = models.CharField(max_length=20, choices=CourseKind.choices, default=CourseKind.COURSE)
    theme = models.CharField(
        max_length=120, blank=True, help_text="E.g. 'Think Family' or 'Child sexual exploitation'."
    )
    level = models.CharField(
        "safeguarding level", max_length=2, choices=SafeguardingLevel.choices, blank=True
    )
    duration_half_days = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1)], help_text="1 = half day, 2 = full day."
    )
    description = models.TextField(blank=True)
    follow_up_weeks = models.PositiveSmallIntegerField(
        default=12, help_text="Weeks after the session that the follow-up impact survey is sent."
    )
    refresh_interval_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text=(
            "Attendees should refresh this training every N months (e.g. 24 for a DSL update)."
        ),
    )
    is_active = models.BooleanField(default=True)
    approval = models.CharField(
        "approval before a place is confirmed",
        max_length=20,
        choices=ApprovalRule.choices,
        default=ApprovalRule.NONE,
        help_text="Free MAPIG sessions usually need none.",
    )

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.slug:
            self.slug = slugify(self.title)[:200]
        super().save(*args, **kwargs)

    @property
    def is_free(self) -> bool:
        return self.kind == CourseKind.MAPIG

    @property
    def needs_approval(self) -> bool:
        return self.approval != ApprovalRule.NONE

    @property
    def duration_label(self) -> str:
        if self.duration_half_days == 1:
            return "Half day"
        if self.duration_half_days == 2:
            return "Full day"
        return f"{self.duration_half_days / 2:g} days"


class LearningOutcome(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="outcomes")
    text = models.CharField(max_length=300)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.text


class CoursePriceQuerySet(PagesChangingQuerySet["CoursePrice"]):
    """Prices are on the pages: bulk changes to them tell the pages too."""


class CoursePrice(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="prices")
    band = models.ForeignKey(PriceBand, on_delete=models.PROTECT, related_name="course_prices")
    amount = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(ZERO)]
    )

    objects = CoursePriceQuerySet.as_manager()

    class Meta:
        ordering = ["band__order"]
        constraints = [
            models.UniqueConstraint(fields=["course", "band"], name="one_price_per_course_band")
        ]

    def __str__(self) -> str:
        return f"{self.course} – {self.band}: £{self.amount}"


class SessionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    CANCELLED = "cancelled", "Cancelled"


class SessionQuerySet(models.QuerySet["Session"]):
    def published(self) -> SessionQuerySet:
        return self.filter(status=SessionStatus.PUBLISHED)


def booking_closes_on(starts_at: dt.datetime | None, closes_working_days: int) -> dt.date | None:
    """The last day bookings are taken (inclusive) for a session starting at ``starts_at``."""
    if starts_at is None:
        return None
    return working_days_before(timezone.localdate(starts_at), closes_working_days)


def is_open_for_booking(
    *, status: str, starts_at: dt.datetime | None, closes_working_days: int, now: dt.datetime
) -> bool:
    """Whether a session with these fields takes bookings at ``now`` (``Session``'s rule, for
    pages that read sessions as ``values()`` rows)."""
    closes_on = booking_closes_on(starts_at, closes_working_days)
    return (
        status == SessionStatus.PUBLISHED
        and starts_at is not None
        and now < starts_at
        and closes_on is not None
        and timezone.localdate(now) <= closes_on
    )


class Session(models.Model):
    """One run of a course: one or more dated parts at one venue."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="sessions")
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="sessions")
    capacity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    trainers = models.ManyToManyField(Trainer, blank=True, related_name="sessions")
    status = models.CharField(
        max_length=20, choices=SessionStatus.choices, default=SessionStatus.DRAFT
    )
    # Denormalised from the first part so lists can sort and filter on an index; parts are
    # only ever changed through the admin inline, whose save refreshes it.
    starts_at = models.DateTimeField(db_index=True, editable=False, null=True)
    booking_closes_working_days = models.PositiveSmallIntegerField(
        default=2, help_text="Bookings close this many working days before the first part."
    )
    notes = models.TextField(blank=True, help_text="Shown to attendees on the session page.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The iCalendar SEQUENCE of every calendar entry for this session: raised each time its
    # dates, times or venue change or it is cancelled, so calendars replace the old entry.
    calendar_sequence = models.PositiveIntegerField(default=0, editable=False)

    objects = SessionQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "pk"]

    def __str__(self) -> str:
        when = timezone.localtime(self.starts_at).strftime("%d %b %Y") if self.starts_at else "?"
        return f"{self.course.title} – {when}"

    def get_absolute_url(self) -> str:
        return reverse("bookings:session", args=[self.pk])

    def refresh_starts_at(self) -> None:
        first = self.parts.order_by("starts_at").values_list("starts_at", flat=True).first()
        if first != self.starts_at:
            self.starts_at = first
            Session.objects.filter(pk=self.pk).update(starts_at=first)
            pages_changed()

    @property
    def ordered_parts(self) -> list[SessionPart]:
        # Uses the prefetch cache when the list view prefetched parts.
        return sorted(self.parts.all(), key=lambda part: part.starts_at)

    @property
    def ends_at(self) -> dt.datetime | None:
        parts = self.ordered_parts
        return parts[-1].ends_at if parts else None

    def booking_closes_on(self) -> dt.date | None:
        """The last day bookings are taken (inclusive)."""
        return booking_closes_on(self.starts_at, self.booking_closes_working_days)

    def is_open_for_booking(self, now: dt.datetime) -> bool:
        return is_open_for_booking(
            status=self.status,
            starts_at=self.starts_at,
            closes_working_days=self.booking_closes_working_days,
            now=now,
        )

    def price_for_band(self, band_id: int) -> Decimal | None:
        """The price for a band: the session's override, else the course's; None if unset."""
        if self.course.is_free:
            return ZERO
        for override in self.price_overrides.all():
            if override.band_id == band_id:
                return override.amount
        for price in self.course.prices.all():
            if price.band_id == band_id:
                return price.amount
        return None

    def price_table(self, bands: Iterable[PriceBand]) -> list[tuple[PriceBand, Decimal | None]]:
        return [(band, self.price_for_band(band.pk)) for band in bands]


class SessionPartQuerySet(PagesChangingQuerySet["SessionPart"]):
    """A session's dates are on the pages: bulk changes to them tell the pages too."""


class SessionPart(models.Model):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="parts")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    objects = SessionPartQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="session_part_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        start = timezone.localtime(self.starts_at)
        end = timezone.localtime(self.ends_at)
        return f"{start:%a %d %b %Y, %H:%M}–{end:%H:%M}"

    @property
    def hours(self) -> float:
        return (self.ends_at - self.starts_at).total_seconds() / 3600


class SessionPriceQuerySet(PagesChangingQuerySet["SessionPrice"]):
    """Prices are on the pages: bulk changes to them tell the pages too."""


class SessionPrice(models.Model):
    """A session's own price for a band, overriding the course price."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="price_overrides")
    band = models.ForeignKey(PriceBand, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(ZERO)]
    )

    objects = SessionPriceQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "band"], name="one_override_per_session_band"
            )
        ]

    def __str__(self) -> str:
        return f"{self.session} – {self.band}: £{self.amount}"
