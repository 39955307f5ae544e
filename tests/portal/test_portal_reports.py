"""Report downloads (the bureau's CSV and Excel, as `centers report` makes them): the bureau only,
and a cell a spreadsheet would run as a formula is kept as text (injection in downloads)."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.portal.browser import sign_in
from tests.portal.test_portal_attacks import open_center


async def test_portal_reports_for_the_bureau_only_with_formulas_defused(portal, page_factory):
    stack, url = portal, portal.url
    cid = await open_center(stack, applied=False, proposed_name='=HYPERLINK("http://evil.example","点我")')
    await stack.audit("SELECT 1 FROM centers WHERE center_id = $1", cid)  # the snapshot is recorded
    bureau = await page_factory()
    await sign_in(bureau, url, stack.users["bureau"].username)
    csv_reply = await bureau.request.get(f"{url}/reports/status.csv")
    assert csv_reply.status == 200 and csv_reply.headers["content-type"].startswith("text/csv")
    assert csv_reply.headers["content-disposition"].startswith('attachment; filename="status-')
    text = (await csv_reply.body()).decode("utf-8-sig")
    assert cid in text and "'=HYPERLINK" in text and ',=HYPERLINK' not in text
    xlsx = await bureau.request.get(f"{url}/reports/status.xlsx")
    sheet = load_workbook(io.BytesIO(await xlsx.body())).active
    cells = [row[1] for row in sheet.iter_rows() if "HYPERLINK" in str(row[1].value)]
    assert cells and all(c.data_type == "s" for c in cells)  # text, never a formula
    assert (await bureau.request.get(f"{url}/reports/../../etc/passwd.csv")).status == 404

    clerk = await page_factory()
    await sign_in(clerk, url, stack.users["dinghai"].username)
    assert (await clerk.request.get(f"{url}/reports/status.csv")).status == 403
