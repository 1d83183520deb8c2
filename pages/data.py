import contextlib
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from analytics import access, ingest
from analytics.ingest import load, spec, validate
from pages._format import plain
from pages._database import county, cursor, data_span, database_path
from pages._session import current_user, record
from pages._filters import current_filters
from pages._widgets import nothing

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
AUTO = "auto"
LOG_COLUMNS = {"import_id": "序号", "finished_at": "完成时间", "user_name": "操作人", "file_name": "文件",
               "status_label": "结果", "rows_added": "新增", "rows_updated": "更新", "rows_skipped": "未变",
               "rows_rejected": "有问题", "message": "说明", "file_sha256": "文件指纹(SHA-256)"}
STATUS = {"imported": "已导入", "rejected": "未导入", "undone": "已撤销", "unchanged": "无变化", "dry_run": "仅检查"}

current_filters()  # through the frame, even when this is a new server's first request
# In a city, the county chosen in the filter bar: the user's own, or none for a user held to no county.
access.require_import(current_user(), county().code if county() else None, county() is not None)
# Streamlit's uploader speaks English ("Upload", "200MB per file"); these rules put Chinese in its place.
st.html("""<style>
    [data-testid=stFileUploaderDropzone] button [data-testid=stMarkdownContainer] p {font-size: 0;}
    [data-testid=stFileUploaderDropzone] button [data-testid=stMarkdownContainer] p::after {content: "选择文件";
        font-size: 1rem;}
    [data-testid=stFileUploaderDropzoneInstructions] span {font-size: 0;}
    [data-testid=stFileUploaderDropzoneInstructions] span::after {content: "或把文件拖到这里 · 单个文件不超过 50MB";
        font-size: 0.875rem;}
</style>""")
st.title("数据管理")
st.caption(f"数据截至 {data_span()[1]:%Y年%m月%d日} · 导入本县的台账、工单、志愿服务等表格:先检查,确认无误后一次写入;"
           "有任何问题则一行也不写入。正在浏览驾驶舱的人在导入完成后自动看到新数据。")


@contextlib.contextmanager
def as_files(*uploads):
    """The uploads as files of their own names (the problem list names them), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=load.temp_prefix("upload")) as folder:
        paths = []
        for upload in uploads:
            if upload is None:
                paths.append(None)
                continue
            path = Path(folder) / Path(upload.name).name
            path.write_bytes(upload.getvalue())
            paths.append(path)
        yield paths


def checked_upload(upload, mapping, table):
    """The check of this upload against the database as it is now, done once per file and database."""
    key = (upload.file_id, mapping.file_id if mapping else None, table, database_path().stat().st_mtime)
    if st.session_state.get("_checked_key") != key:
        with st.spinner("正在检查……"), as_files(upload, mapping) as (path, mapping_path):
            st.session_state["_checked"] = ingest.isolated(ingest.check, path, database_path(), table, mapping_path)
        st.session_state["_checked_key"] = key
    return st.session_state["_checked"]


FEW_PROBLEMS = 5


def where(row) -> str:
    """Where a problem is, as the clerk finds it in the file: sheet, row, column."""
    located = [row["工作表"], f"第 {int(row['行'])} 行" if pd.notna(row["行"]) else "", f"“{row['列']}”列" if row["列"] else ""]
    return " ".join(p for p in located if p) or row["文件"]


def show_problems(checked, stem: str) -> None:
    problems, details = checked.problems, checked.details
    if len(problems) <= FEW_PROBLEMS:  # each in full, where a table would cut the sentence
        lines = [f"- **{plain(where(r))}**{'(值 ' + plain(r['值']) + ')' if r['值'] else ''}:{plain(r['问题'])}"
                 for _, r in problems.iterrows()]
        st.error(f"发现 {len(problems):,} 个问题,数据库未作任何改动。请改正后重新上传:\n\n" + "\n".join(lines),
                 icon=":material/error:")
    else:
        st.error(f"发现 {len(problems):,} 个问题,数据库未作任何改动。请按下表改正后重新上传"
                 f"{'(下载的问题清单逐行列出)' if len(details) > len(problems) else ''}。", icon=":material/error:")
        st.dataframe(problems, hide_index=True, width="stretch", height=min(420, 38 * (len(problems) + 1)),
                     placeholder="", column_config={"行": "行",
                                                    "问题": st.column_config.TextColumn("问题", width="large")})
    with st.container(horizontal=True):
        st.download_button("问题清单 Excel", lambda: ingest.problems_bytes(details, "xlsx"), f"{stem}_问题清单.xlsx",
                           XLSX, icon=":material/download:", on_click="ignore", key="problems_xlsx")
        st.download_button("问题清单 CSV", lambda: ingest.problems_bytes(details, "csv"), f"{stem}_问题清单.csv",
                           "text/csv", icon=":material/download:", on_click="ignore", key="problems_csv")


def show_counts(checked) -> None:
    rows = [{"表": spec.TABLES[name].zh, "新增": c.get("added", 0), "更新": c.get("updated", 0), "未变": c.get("skipped", 0)}
            for name, c in checked.counts.items()]
    st.dataframe(rows, hide_index=True, width="content")


def show_import() -> None:
    left, right = st.columns([3, 2], gap="large")
    with left:
        upload = st.file_uploader("数据文件(Excel .xlsx、CSV 或 Parquet;CSV 可为 UTF-8、GBK 或 UTF-16 编码,"
                                  "也可用 Excel 另存的“Unicode 文本”.txt)",
                                  type=["xlsx", "csv", "txt", "parquet"], key="upload")
    with right:
        tables = {AUTO: "按工作表名或列名自动识别", **{name: t.zh for name, t in spec.TABLES.items()}}
        table = st.selectbox("导入到", list(tables), format_func=tables.get, key="upload_table")
        mapping = st.file_uploader("对照表(YAML,可选:导入其他系统导出的文件时用)", type=["yaml", "yml"],
                                   key="upload_mapping")
    if upload is None:
        nothing("请上传文件。格式见“模板下载”:每张表一个工作表,列头可用中文或英文。")
        return
    table = None if table == AUTO else table
    checked = checked_upload(upload, mapping, table)
    stem = Path(upload.name).stem
    if not checked.ok:
        show_problems(checked, stem)
        return
    if not checked.counts:
        nothing("文件中没有可导入的数据。")
        return
    st.success(f"检查通过:{plain(upload.name)},共 {sum(checked.rows.values()):,} 行。", icon=":material/check_circle:")
    show_counts(checked)
    for name, preview in checked.preview.items():
        with st.expander(f"预览:{spec.TABLES[name].zh}(前 {len(preview)} 行)"):
            st.dataframe(preview, hide_index=True, width="stretch", placeholder="")
    if checked.changes == 0:
        st.info("文件中的数据与数据库完全一致,无需导入。", icon=":material/info:")
        return
    if st.button("确认导入", type="primary", icon=":material/upload:", key="confirm_import"):
        try:
            with st.spinner("正在导入……"), as_files(upload, mapping) as (path, mapping_path):
                result = ingest.isolated(ingest.import_file, path, database_path(), table, mapping_path,
                                         user=current_user().name)
        except ingest.Busy as exc:
            record("import", upload.name, str(exc), ok=False)
            st.error(plain(exc), icon=":material/hourglass:")
            return
        record("import", upload.name, result.message, ok=result.status == "imported")
        if result.status == "imported":
            st.success(plain(result.message), icon=":material/check_circle:")
        elif result.problems.empty:
            st.info(plain(result.message), icon=":material/info:")
        else:
            show_problems(result, stem)


def show_log() -> None:
    log = ingest.import_log(cursor())
    if log.empty:
        nothing("还没有导入记录。")
    else:
        shown = log.assign(status_label=log["status"].map(STATUS).fillna(log["status"]))
        st.dataframe(shown[list(LOG_COLUMNS)], hide_index=True, width="stretch", placeholder="",
                     column_config={c: st.column_config.Column(v) for c, v in LOG_COLUMNS.items()} | {
                         "finished_at": st.column_config.DatetimeColumn("完成时间", format="YYYY-MM-DD HH:mm:ss")})
    with st.popover("撤销最近一次导入", icon=":material/undo:"):
        st.markdown("把数据库恢复到最近一次导入之前的样子(按该次导入保存的原数据逐行恢复)。撤销本身也会记入导入记录。")
        if st.button("确认撤销", type="primary", key="confirm_undo"):
            try:
                result = ingest.undo_last(database_path(), user=current_user().name)
                record("undo", detail=result.message)
                st.success(plain(result.message), icon=":material/check_circle:")
            except ingest.Busy as exc:
                record("undo", detail=str(exc), ok=False)
                st.error(plain(exc))
            except ValueError as exc:
                st.warning(plain(exc))


def show_templates() -> None:
    place = validate.county_of(cursor())
    st.markdown("每张表一个工作表:第一行为中文列头(带 * 的必填),下面是一行示例;“允许取值”工作表逐列说明取值,"
                f"经纬度须在{place.name}辖区范围内。工单模板为一行一张工单,每个环节一列时间,导入时自动生成办理过程。")
    names = {name: t.zh for name, t in spec.TABLES.items()}
    chosen = st.multiselect("选择表", list(names), format_func=names.get, key="template_tables",
                            placeholder="不选则下载全部表")
    label = "全部表" if not chosen else "、".join(names[c] for c in chosen[:3]) + ("等" if len(chosen) > 3 else "")
    st.download_button(f"下载模板({label})", lambda: ingest.template_bytes(chosen or "all", place), "导入模板.xlsx", XLSX,
                       icon=":material/download:", on_click="ignore", key="template_download")


tab_import, tab_log, tab_templates = st.tabs(["导入数据", "导入记录", "模板下载"])
with tab_import:
    show_import()
with tab_log:
    show_log()
with tab_templates:
    show_templates()
