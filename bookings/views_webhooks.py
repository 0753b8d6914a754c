"""The gateway's webhook endpoint: signature checked on the raw body, each event once."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bookings.payments import WebhookRejected, webhook_handle

logger = logging.getLogger(__name__)


@csrf_exempt  # Stripe cannot send a CSRF token; the signature authenticates the request.
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    try:
        outcome = webhook_handle(
            payload=request.body,
            signature=request.headers.get("Stripe-Signature", ""),
            now=timezone.now(),
        )
    except WebhookRejected as error:
        logger.warning("Webhook rejected: %s", error)
        return HttpResponseBadRequest("Invalid webhook")
    logger.info("Webhook processed: %s", outcome)
    return HttpResponse(outcome, content_type="text/plain")
