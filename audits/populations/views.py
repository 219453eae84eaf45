"""Population profile pages: list, detail, write, import, publish, new version, and a
jurisdiction's default."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from audits.models import JurisdictionProfile, PopulationProfile
from audits.populations import services
from audits.populations.content import parse_csv, to_csv
from audits.populations.forms import DefaultForm, ProfileForm, ProfileImportForm
from audits.populations.selectors import visible_profiles


def _profile(request: HttpRequest, pk: int) -> PopulationProfile:
    profile = visible_profiles(request.user).filter(pk=pk).first()
    if profile is None:
        raise Http404
    return profile


def _writer(request: HttpRequest) -> list:
    owners = services.editor_organisations(request.user)
    if not owners:
        raise PermissionDenied
    return owners


def _owner(owners: list, pk: int | None):
    return next((o for o in owners if o.pk == pk), None)


@login_required
def profile_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "audits/population_list.html",
        {
            "profiles": visible_profiles(request.user).order_by("name", "-number"),
            "defaults": JurisdictionProfile.objects.select_related("jurisdiction", "profile"),
            "can_write": bool(services.editor_organisations(request.user)),
        },
    )


@login_required
def profile_detail(request: HttpRequest, pk: int) -> HttpResponse:
    profile = _profile(request, pk)
    editor = services.may_edit(request.user, profile)
    jurisdictions = services.regulated_jurisdictions(request.user) if profile.is_published else []
    return render(
        request,
        "audits/population_detail.html",
        {
            "profile": profile,
            "can_edit": editor and not profile.is_published,
            "can_publish": editor and not profile.is_published,
            "can_new_version": editor and profile.is_published,
            "default_form": DefaultForm(jurisdictions=jurisdictions) if jurisdictions else None,
            "defaults": profile.jurisdiction_defaults.select_related("jurisdiction"),
            "other_versions": visible_profiles(request.user)
            .filter(owner=profile.owner, name=profile.name)
            .exclude(pk=profile.pk)
            .order_by("-number"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def profile_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    profile = _profile(request, pk) if pk else None
    owners = _writer(request)
    if profile is not None and (
        profile.is_published or not services.may_edit(request.user, profile)
    ):
        raise PermissionDenied
    initial = (
        {
            "owner": profile.owner_id,
            "name": profile.name,
            "source": profile.source,
            "source_url": profile.source_url,
            "shares": to_csv(profile.groupings),
        }
        if profile
        else {}
    )
    form = ProfileForm(request.POST or None, initial=initial)
    form.set_owners(owners)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            groupings = parse_csv(data["shares"]).groupings
        except ValueError as exc:
            problems = getattr(exc, "problems", [str(exc)])
            form.add_error("shares", problems)
        else:
            try:
                saved = services.profile_save_draft(
                    user=request.user,
                    owner=_owner(owners, data["owner"]),
                    name=data["name"],
                    source=data["source"],
                    source_url=data["source_url"],
                    groupings=groupings,
                    profile=profile,
                )
            except services.ProfileForbidden as refused:
                form.add_error(None, str(refused))
                status = 403
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, f"Saved {saved.label} as a draft.")
                return redirect(saved)
        status = status if status != 200 else 400
    elif request.method == "POST":
        status = 400
    return render(
        request, "audits/population_edit.html", {"form": form, "profile": profile}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def profile_import(request: HttpRequest) -> HttpResponse:
    owners = _writer(request)
    form = ProfileImportForm(request.POST or None, request.FILES or None, initial={"format": "csv"})
    form.set_owners(owners)
    problems: list[str] = []
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                profile = services.profile_import(
                    text=form.content(),
                    fmt=data["format"],
                    user=request.user,
                    owner=_owner(owners, data["owner"]),
                    name=data["name"],
                    source=data["source"],
                    source_url=data["source_url"],
                )
            except services.ProfileForbidden as refused:
                problems, status = [str(refused)], 403
            except ValidationError as exc:
                problems = exc.messages
            else:
                messages.success(request, f"Imported {profile.label} as a draft.")
                return redirect(profile)
    return render(
        request,
        "audits/population_import.html",
        {"form": form, "problems": problems},
        status=status,
    )


@login_required
@require_POST
def profile_publish(request: HttpRequest, pk: int) -> HttpResponse:
    profile = _profile(request, pk)
    try:
        profile = services.profile_publish(profile=profile, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Published {profile.label}: it no longer changes.")
    return redirect(profile)


@login_required
@require_POST
def profile_new_version(request: HttpRequest, pk: int) -> HttpResponse:
    profile = services.profile_new_version(profile=_profile(request, pk), user=request.user)
    messages.success(request, f"Started {profile.label} as a draft.")
    return redirect(profile)


@login_required
@require_POST
def profile_set_default(request: HttpRequest, pk: int) -> HttpResponse:
    profile = _profile(request, pk)
    jurisdictions = services.regulated_jurisdictions(request.user)
    if not jurisdictions:
        raise PermissionDenied
    form = DefaultForm(request.POST, jurisdictions=jurisdictions)
    if not form.is_valid():
        messages.error(request, "Choose a jurisdiction you regulate.")
        return redirect(profile)
    jurisdiction = next(j for j in jurisdictions if j.pk == form.cleaned_data["jurisdiction"])
    try:
        services.jurisdiction_set_default(
            jurisdiction=jurisdiction, profile=profile, user=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{profile.label} is now {jurisdiction.code}'s default profile.")
    return redirect(profile)
