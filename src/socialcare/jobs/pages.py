"""The Jobs page (administrators): what waits, what runs, what failed and why, and Retry."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from socialcare.jobs import queue
from socialcare.jobs import repository as repo
from socialcare.jobs.registry import all_jobs
from socialcare.security import audit
from socialcare.security.principal import Principal
from socialcare.web.deps import DbSession, csrf_protect, require_page
from socialcare.web.nav import NavItem
from socialcare.web.templating import redirect, render

router = APIRouter(tags=["jobs"])
NAV = [NavItem(label="Jobs", href="/jobs", permission="jobs:manage", order=97)]
Admin = Depends(require_page("jobs:manage"))


@router.get("/jobs")
def jobs_page(request: Request, db: DbSession, principal: Principal = Admin,
              status: str | None = Query(None), page: int = Query(1, ge=1)):
    status = status if status in repo.STATUSES else None
    per_page = 50
    runs = repo.runs(db, status=status, limit=per_page + 1, offset=(page - 1) * per_page)
    schedule = repo.schedule(db)
    try:
        backend_pending, backend_error = queue.queue_depth(), None
    except Exception as exc:  # the page still shows the database's view
        backend_pending, backend_error = None, f"{type(exc).__name__}: {exc}"
    return render(request, "jobs/index.html", {
        "runs": runs[:per_page], "has_next": len(runs) > per_page, "page": page, "status": status,
        "counts": repo.counts_by_status(db), "jobs": all_jobs(), "schedule": schedule,
        "backend": queue.backend_name(), "backend_pending": backend_pending, "backend_error": backend_error,
    })


@router.post("/jobs/runs/{run_id}/retry", dependencies=[Depends(csrf_protect)])
def retry_run(run_id: int, request: Request, db: DbSession, principal: Principal = Admin):
    new_id = queue.retry(db, run_id, by=principal.username)
    audit.record(db, principal, "jobs.retry", object_type="job_run", object_id=run_id, detail={"new_run": new_id})
    return redirect("/jobs?status=queued", request=request, flash=f"Run #{run_id} queued again as #{new_id}.")


@router.post("/jobs/{name}/run", dependencies=[Depends(csrf_protect)])
def run_now(name: str, request: Request, db: DbSession, principal: Principal = Admin):
    run_id = queue.enqueue(name, queued_by=principal.username)
    audit.record(db, principal, "jobs.run", object_type="job", object_id=name[:80], detail={"run": run_id})
    return redirect("/jobs", request=request,
                    flash=f"{name} queued (run #{run_id})." if run_id else f"{name} is already waiting to run.")
