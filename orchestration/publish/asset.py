"""The publish asset: publishes the marts and their exports only when the gate's review of the
build as it stands (quality/gate.py) finds every blocking check upstream passed; with a lake
configured (WAREHOUSE_LAKE), then commits that publication to the lake as one snapshot.

The file publication comes first and stands on its own: a lake commit that fails leaves
published.duckdb and the exports as just published (readers of the file have the new data) and
fails the step, loudly, so the run says the lake is behind. A rerun publishes again, file and lake
(a new publication id); the publication that missed the lake stays in publication_log with no
lake_snapshot_id."""

import dagster as dg

from orchestration.core.lake import LakeError
from orchestration.core.paths import PUBLISHED_FILE
from orchestration.core.resources import WarehouseResource
from orchestration.core.run_lock import WarehouseBusy, hold_warehouse
from orchestration.core.settings import WAREHOUSE_POOL
from orchestration.publish.lake import LAKE_NOT_UPDATED, commit_publication
from orchestration.publish.publication import STORAGE_VERSION, ShrinkRefused, publish
from orchestration.quality.gate import publication_checks, review_gate
from orchestration.raw.resources import RawSourceResource
from orchestration.transform.assets import mart_keys


@dg.asset(
    name="published_warehouse",
    group_name="publish",
    deps=mart_keys(),
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,  # one writer at a time across machines (core/writer.py)
    description=(
        "Copies every mart into WAREHOUSE_DIR/published.duckdb (what readers open; DuckDB storage v1.0.0, "
        "read by DuckDB 1.0 and later) and its exports (WAREHOUSE_DIR/exports: Parquet per table, the Excel "
        "workbook), atomically as one set, with each number's dbt definition as a table/column comment and "
        "a row in publication_log; with WAREHOUSE_LAKE set, then commits it to the DuckLake lake as one snapshot. "
        "Publishes only when every blocking check upstream passed on the data as it stands (in this "
        "run or, for assets this run did not touch, in the run that last built them)."
    ),
)
def published_warehouse(
    context: dg.AssetExecutionContext, raw_source: RawSourceResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    # One publisher at a time, and no run rebuilding what the gate is about to clear: a run that
    # builds holds the warehouse already (the build file's resource; `make run`), one that only
    # publishes (from the UI) takes it here.
    try:
        with hold_warehouse(warehouse.paths.root, f"Dagster run of {context.run.job_name}", context.run.run_id):
            return _publish(context, raw_source, warehouse)
    except WarehouseBusy as busy:
        raise dg.Failure(description=str(busy)) from None


def _publish(
    context: dg.AssetExecutionContext, raw_source: RawSourceResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    checks = publication_checks()
    review = review_gate(context.instance, checks, context.run.run_id)
    if review.problems:
        problems = review.problems
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise dg.Failure(
            description=(
                f"not published: {len(problems)} of {len(checks)} blocking checks have not passed on the "
                f"build as it stands ({shown}); run them, or rebuild those assets with their checks, first"
            ),
            metadata={"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems))},
        )
    source = raw_source.get()
    gate = review.summary()
    try:
        publication = publish(
            warehouse.paths.build_db,
            warehouse.paths.published_db,
            run_id=context.run.run_id,
            source=source.label,
            is_synthetic=source.synthetic,
            gate_result=gate,
            attribution=source.attribution,
            allow_shrink=warehouse.allow_shrink,
        )
    except ShrinkRefused as refused:
        raise dg.Failure(description=str(refused)) from None
    context.log.info(
        f"published {publication.path} ({publication.first_month} .. {publication.last_month}), "
        f"publication {publication.publication_id}, exports in {warehouse.paths.exports}"
    )
    for notice in publication.notices:
        context.log.warning(notice)
    lost = publication.lost_months()
    if lost:  # only with WAREHOUSE_ALLOW_SHRINK=1: publish() refuses it otherwise
        context.log.warning(
            f"the published history is shorter than before: readers no longer have {lost} "
            f"(it covered {publication.previous_first_month} .. {publication.previous_last_month}); "
            "published as WAREHOUSE_ALLOW_SHRINK allows"
        )
    if publication.lost_members:
        context.log.warning(
            f"readers no longer have the members {publication.lost_members}; published as WAREHOUSE_ALLOW_SHRINK allows"
        )
    lake = warehouse.lake_config
    lake_snapshot = {}
    if lake is not None:
        try:
            commit = commit_publication(
                lake,
                warehouse.paths.publications / publication.publication_id / PUBLISHED_FILE,
                publication.publication_id,
            )
        except Exception as error:  # whatever it is, the file publication stands: say the lake is behind
            reason = str(error) if isinstance(error, LakeError) else f"the commit to the lake failed: {error!r}"
            raise dg.Failure(
                description=(
                    f"{LAKE_NOT_UPDATED}: publication {publication.publication_id} is current in "
                    f"{publication.path} and the exports, but {reason}; readers of the lake still have the "
                    "previous publication. A rerun publishes again, to the file and the lake"
                )
            ) from None
        context.log.info(
            f"lake {lake.describe()}: publication {publication.publication_id} is snapshot {commit.snapshot}"
        )
        lake_snapshot = {"lake_snapshot": commit.snapshot, "lake": lake.describe()}
    return dg.MaterializeResult(
        metadata={
            **lake_snapshot,
            "path": dg.MetadataValue.path(str(publication.path)),
            "published_at": publication.published_at.isoformat(),
            "publication_id": publication.publication_id,
            "storage_version": STORAGE_VERSION,
            "exports": dg.MetadataValue.md("\n".join(f"- {p}" for p in publication.exports)),
            "first_month": publication.first_month,
            "last_month": publication.last_month,
            "row_counts": dg.MetadataValue.json(publication.row_counts),
            "source": source.label,
            "gate_result": gate,
            "months_no_longer_published": lost or "none",
            "members_no_longer_published": publication.lost_members or "none",
            "notices": "\n".join(publication.notices) or "none",
        }
    )
