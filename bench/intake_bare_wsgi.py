"""Bench-only WSGI application for bench/case_intake.py: the bare Django view of the comparison.

The product's settings, middleware and database configuration, but a urlconf of one view that only
does ``Case.objects.create`` with the columns case intake writes (``case_intake.case_columns``) and
answers 201 with a small JSON body: no authentication, validation, point lookup, numbering
sequence, deadline, event or detail. It adds no route to the product: ``bench/case_intake.py``
serves it with a second gunicorn (``--pythonpath bench intake_bare_wsgi:application``).

The request body is the API's (``category``, ``description``, ``lng``, ``lat``, ``address``) plus
what the product would compute and the bench computed beforehand: ``grid_id``, ``region_code``,
``h3_cell`` and ``reporter_id``. Numbers are ``B<pid>-<counter>``: unique across workers.
"""

from __future__ import annotations

import itertools
import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

from case_intake import case_columns  # noqa: E402
from django.conf import settings  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from django.views.decorators.http import require_POST  # noqa: E402

from wangge.cases.models import Case  # noqa: E402

settings.ROOT_URLCONF = __name__  # read per request by Django's handler: this module's urlpatterns
_counter = itertools.count(1)


@csrf_exempt
@require_POST
def create(request: HttpRequest) -> JsonResponse:
    data = json.loads(request.body)
    number = f"B{os.getpid()}-{next(_counter)}"
    case = Case.objects.create(**case_columns(data, number, timezone.now()))
    return JsonResponse({"number": case.number, "id": case.pk}, status=201)


urlpatterns = [path("bare/cases/", create)]
