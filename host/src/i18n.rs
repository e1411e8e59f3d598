//! The pages' two languages: which one a request gets, and the words.
//!
//! The words are one struct per language, so a string missing in one
//! language is a compile error rather than a blank on a page.

/// A page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Zh, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `lang` attribute of a page.
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "zh-hans" | "zh-tw" | "zh-hant" | "zh-hk" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            other if other.starts_with("zh-") => Some(Lang::Zh),
            other if other.starts_with("en-") => Some(Lang::En),
            _ => None,
        }
    }

    /// The user's own setting, else the first language of the browser's
    /// `Accept-Language` we have (by its q-values), else Chinese.
    pub fn negotiate(setting: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(lang) = setting.and_then(Lang::parse) {
            return lang;
        }
        let mut offered: Vec<(f32, Lang)> = accept_language
            .unwrap_or("")
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let lang = Lang::parse(pieces.next()?)?;
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some((q, lang))
            })
            .collect();
        // Stable: among equal q-values the browser's order stands.
        offered.sort_by(|a, b| b.0.total_cmp(&a.0));
        offered.first().map(|(_, lang)| *lang).unwrap_or(Lang::Zh)
    }

    pub fn words(self) -> &'static Words {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    /// A domain word (a stage, tier, activity kind or role, as stored) as
    /// people read it; an unknown word as it is.
    pub fn term(self, word: &str) -> &str {
        let (zh, en) = match word {
            "new" => ("新线索", "New"),
            "mql" => ("市场认可", "MQL"),
            "sql" => ("销售认可", "SQL"),
            "opportunity" => ("商机", "Opportunity"),
            "won" => ("赢单", "Won"),
            "lost" => ("输单", "Lost"),
            "disqualified" => ("无效", "Disqualified"),
            "recycled" => ("回收", "Recycled"),
            "hot" => ("热", "Hot"),
            "warm" => ("温", "Warm"),
            "cold" => ("冷", "Cold"),
            "call" => ("电话", "Call"),
            "email" => ("邮件", "Email"),
            "meeting" => ("会面", "Meeting"),
            "message" => ("消息", "Message"),
            "note" => ("备注", "Note"),
            "admin" => ("管理员", "Admin"),
            "manager" => ("经理", "Manager"),
            "rep" => ("销售", "Rep"),
            "integrator" => ("集成开发", "Integrator"),
            _ => return word,
        };
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// Every string the workspace pages show, in one language.
pub struct Words {
    pub product: &'static str,
    pub log_in: &'static str,
    pub log_out: &'static str,
    pub workspace: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub wrong_login: &'static str,
    pub locked_login: &'static str,
    pub agenda: &'static str,
    pub my_leads: &'static str,
    pub team_leads: &'static str,
    pub all_leads: &'static str,
    pub pool: &'static str,
    pub notifications: &'static str,
    pub account: &'static str,
    pub overdue: &'static str,
    pub due_today: &'static str,
    pub new_untouched: &'static str,
    pub tasks: &'static str,
    pub nothing_here: &'static str,
    pub due_in: &'static str,
    pub overdue_by: &'static str,
    pub name: &'static str,
    pub company: &'static str,
    pub phone: &'static str,
    pub score: &'static str,
    pub tier: &'static str,
    pub stage: &'static str,
    pub owner: &'static str,
    pub source: &'static str,
    pub sla_due: &'static str,
    pub created: &'static str,
    pub search: &'static str,
    pub sort_by: &'static str,
    pub back_to_workspace: &'static str,
    pub search_hint: &'static str,
    pub any_stage: &'static str,
    pub any_tier: &'static str,
    pub apply: &'static str,
    pub next_page: &'static str,
    pub claim: &'static str,
    pub claimed: &'static str,
    pub claim_lost: &'static str,
    pub timeline: &'static str,
    pub log_activity: &'static str,
    pub kind: &'static str,
    pub outcome: &'static str,
    pub note: &'static str,
    pub next_follow_up: &'static str,
    pub save: &'static str,
    pub change_stage: &'static str,
    pub reason: &'static str,
    pub tags: &'static str,
    pub add_tag: &'static str,
    pub remove: &'static str,
    pub add_task: &'static str,
    pub task_title: &'static str,
    pub due: &'static str,
    pub tag_added: &'static str,
    pub task_added: &'static str,
    pub deal_value: &'static str,
    pub expected_close: &'static str,
    pub details: &'static str,
    pub unowned: &'static str,
    pub held: &'static str,
    pub mark_all_read: &'static str,
    pub unread: &'static str,
    pub change_password: &'static str,
    pub current_password: &'static str,
    pub new_password: &'static str,
    pub password_changed: &'static str,
    pub password_too_short: &'static str,
    pub current_password_wrong: &'static str,
    pub preferences: &'static str,
    pub language: &'static str,
    pub time_zone: &'static str,
    pub browser_default: &'static str,
    pub tenant_default: &'static str,
    pub saved: &'static str,
    pub forbidden: &'static str,
    pub not_found: &'static str,
    pub csrf_refused: &'static str,
    pub reset_password: &'static str,
    pub repeat_password: &'static str,
    pub passwords_differ: &'static str,
    pub reset_link_dead: &'static str,
    pub password_set: &'static str,
    /// The reset email's subject.
    pub reset_subject: &'static str,
    /// The reset email's text: `{name}`, `{workspace}`, `{link}`, `{minutes}`.
    pub reset_email: &'static str,
    pub activity_saved: &'static str,
    pub stage_changed: &'static str,
    pub fix_errors: &'static str,
    pub minutes: &'static str,
    pub hours: &'static str,
    pub days: &'static str,
}

pub const ZH: Words = Words {
    product: "leadhost 线索管理",
    log_in: "登录",
    log_out: "退出",
    workspace: "工作区",
    email: "邮箱",
    password: "密码",
    wrong_login: "邮箱或密码不正确。",
    locked_login: "失败次数过多，请 {} 分钟后再试。",
    agenda: "今日待办",
    my_leads: "我的线索",
    team_leads: "团队线索",
    all_leads: "全部线索",
    pool: "公海",
    notifications: "通知",
    account: "账户",
    overdue: "已逾期",
    due_today: "今天到期",
    new_untouched: "新分配、尚未跟进",
    tasks: "任务",
    nothing_here: "暂无。",
    due_in: "剩余",
    overdue_by: "逾期",
    name: "姓名",
    company: "公司",
    phone: "电话",
    score: "分数",
    tier: "等级",
    stage: "阶段",
    owner: "负责人",
    source: "来源",
    sla_due: "跟进期限",
    created: "创建时间",
    search: "搜索",
    sort_by: "排序",
    back_to_workspace: "返回工作区",
    search_hint: "姓名、邮箱、电话或公司",
    any_stage: "全部阶段",
    any_tier: "全部等级",
    apply: "筛选",
    next_page: "下一页",
    claim: "领取",
    claimed: "已领取这条线索。",
    claim_lost: "这条线索刚被其他销售领取，已不在公海中。",
    timeline: "时间线",
    log_activity: "记录跟进",
    kind: "类型",
    outcome: "结果",
    note: "备注",
    next_follow_up: "下次跟进",
    save: "保存",
    change_stage: "变更阶段",
    reason: "原因",
    tags: "标签",
    add_tag: "添加标签",
    remove: "移除",
    add_task: "添加任务",
    task_title: "任务",
    due: "截止时间",
    tag_added: "标签已添加。",
    task_added: "任务已添加。",
    deal_value: "成交金额（商机、赢单时填写）",
    expected_close: "预计成交日期",
    details: "详情",
    unowned: "无负责人",
    held: "培育中",
    mark_all_read: "全部标为已读",
    unread: "未读",
    change_password: "修改密码",
    current_password: "当前密码",
    new_password: "新密码（至少 10 个字符）",
    password_changed: "密码已修改，其他会话已退出。",
    password_too_short: "新密码至少需要 10 个字符。",
    current_password_wrong: "当前密码不正确。",
    preferences: "偏好设置",
    language: "语言",
    time_zone: "时区",
    browser_default: "跟随浏览器",
    tenant_default: "跟随公司设置",
    saved: "已保存。",
    forbidden: "您无权查看此页面或执行此操作。",
    not_found: "找不到该页面，或您无权查看。",
    csrf_refused: "表单已过期或来源不明，请返回刷新页面后重试。",
    reset_password: "设置新密码",
    repeat_password: "再次输入新密码",
    passwords_differ: "两次输入的新密码不一致。",
    reset_link_dead: "此链接已过期或已使用。请联系管理员重新发送。",
    password_set: "新密码已设置，请用它登录。",
    reset_subject: "leadhost：设置新密码",
    reset_email: "{name}，您好：\n\n管理员为您发送了设置 leadhost 新密码的链接（工作区 {workspace}）。请在 {minutes} 分钟内打开链接设置新密码，链接只能使用一次：\n\n{link}\n\n如果您没有预料到这封邮件，请忽略它，您的密码不会改变。\n",
    activity_saved: "跟进已记录。",
    stage_changed: "阶段已变更。",
    fix_errors: "请修正以下问题：",
    minutes: "分钟",
    hours: "小时",
    days: "天",
};

pub const EN: Words = Words {
    product: "leadhost",
    log_in: "Log in",
    log_out: "Log out",
    workspace: "Workspace",
    email: "Email",
    password: "Password",
    wrong_login: "The email or password is not right.",
    locked_login: "Too many failed attempts; try again in {} minutes.",
    agenda: "Agenda",
    my_leads: "My leads",
    team_leads: "Team leads",
    all_leads: "All leads",
    pool: "Pool",
    notifications: "Notifications",
    account: "Account",
    overdue: "Overdue",
    due_today: "Due today",
    new_untouched: "New and not yet touched",
    tasks: "Tasks",
    nothing_here: "Nothing here.",
    due_in: "due in",
    overdue_by: "overdue by",
    name: "Name",
    company: "Company",
    phone: "Phone",
    score: "Score",
    tier: "Tier",
    stage: "Stage",
    owner: "Owner",
    source: "Source",
    sla_due: "Follow up by",
    created: "Created",
    search: "Search",
    sort_by: "Sort by",
    back_to_workspace: "Back to the workspace",
    search_hint: "Name, email, phone or company",
    any_stage: "Any stage",
    any_tier: "Any tier",
    apply: "Filter",
    next_page: "Next page",
    claim: "Claim",
    claimed: "You claimed this lead.",
    claim_lost: "Another rep has just claimed this lead; it is no longer in the pool.",
    timeline: "Timeline",
    log_activity: "Log an activity",
    kind: "Kind",
    outcome: "Outcome",
    note: "Note",
    next_follow_up: "Next follow-up",
    save: "Save",
    change_stage: "Change stage",
    reason: "Reason",
    tags: "Tags",
    add_tag: "Add tag",
    remove: "Remove",
    add_task: "Add task",
    task_title: "Task",
    due: "Due",
    tag_added: "Tag added.",
    task_added: "Task added.",
    deal_value: "Deal value (for opportunity and won)",
    expected_close: "Expected close date",
    details: "Details",
    unowned: "Unowned",
    held: "In nurture",
    mark_all_read: "Mark all read",
    unread: "unread",
    change_password: "Change password",
    current_password: "Current password",
    new_password: "New password (at least 10 characters)",
    password_changed: "Password changed; your other sessions have ended.",
    password_too_short: "The new password needs at least 10 characters.",
    current_password_wrong: "The current password is not right.",
    preferences: "Preferences",
    language: "Language",
    time_zone: "Time zone",
    browser_default: "As the browser says",
    tenant_default: "The company's",
    saved: "Saved.",
    forbidden: "You may not see this page or do this.",
    not_found: "No such page, or you may not see it.",
    csrf_refused: "This form has expired or did not come from leadhost; go back, reload the page and try again.",
    reset_password: "Set a new password",
    repeat_password: "Repeat the new password",
    passwords_differ: "The two new passwords are not the same.",
    reset_link_dead: "This link has expired or was already used. Ask your administrator to send a new one.",
    password_set: "Your new password is set: log in with it.",
    reset_subject: "leadhost: set a new password",
    reset_email: "Hello {name},\n\nAn administrator sent you a link to set a new leadhost password (workspace {workspace}). Open it within {minutes} minutes to choose a new password; it works once:\n\n{link}\n\nIf you did not expect this email, ignore it: your password stays as it is.\n",
    activity_saved: "Activity logged.",
    stage_changed: "Stage changed.",
    fix_errors: "Please fix these:",
    minutes: "min",
    hours: "h",
    days: "d",
};

/// Every string the public form page shows around a form's own texts (which
/// come from its UI schema), and the validation messages by JSON Schema
/// keyword. `{name}` marks a value put in when the message is made.
pub struct FormWords {
    pub please_choose: &'static str,
    /// `{field}`, `{value}`.
    pub required_when: &'static str,
    pub fix_fields: &'static str,
    pub thank_you: &'static str,
    pub submit: &'static str,
    pub honeypot: &'static str,
    pub welcome_back: &'static str,
    pub not_you: &'static str,
    pub form_unavailable: &'static str,
    pub link_not_valid: &'static str,
    pub kiosk_saved: &'static str,
    /// `{count}`.
    pub kiosk_queued: &'static str,
    pub kiosk_all_sent: &'static str,
    pub kiosk_not_accepted: &'static str,
    pub kiosk_next_visitor: &'static str,
    pub required: &'static str,
    pub not_a_field: &'static str,
    pub not_an_email: &'static str,
    pub not_a_date: &'static str,
    /// `{format}`.
    pub not_a_format: &'static str,
    pub not_a_phone: &'static str,
    /// `{limit}` in the limits below.
    pub min_length: &'static str,
    pub max_length: &'static str,
    pub minimum: &'static str,
    pub maximum: &'static str,
    pub exclusive_minimum: &'static str,
    pub exclusive_maximum: &'static str,
    pub min_items: &'static str,
    pub max_items: &'static str,
    pub not_a_choice: &'static str,
    pub repeated_choice: &'static str,
    pub pattern: &'static str,
    pub not_an_integer: &'static str,
    pub not_a_number: &'static str,
    pub not_a_boolean: &'static str,
    pub not_text: &'static str,
    pub not_a_list: &'static str,
    pub must_be_checked: &'static str,
    /// `{value}`.
    pub must_be: &'static str,
    pub not_valid: &'static str,
}

impl FormWords {
    pub fn of(lang: Lang) -> &'static FormWords {
        match lang {
            Lang::Zh => &FORM_ZH,
            Lang::En => &FORM_EN,
        }
    }
}

pub const FORM_ZH: FormWords = FormWords {
    please_choose: "— 请选择 —",
    required_when: "当「{field}」为「{value}」时必填",
    fix_fields: "请检查下面标出的字段。",
    thank_you: "谢谢！我们已收到您的信息，会尽快与您联系。",
    submit: "提交",
    honeypot: "请勿填写此项（用于识别自动提交）",
    welcome_back: "欢迎回来！我们只询问尚不了解的信息。",
    not_you: "不是您本人？重新填写",
    form_unavailable: "表单不可用",
    link_not_valid: "这个链接无效。",
    kiosk_saved: "已保存，请下一位访客填写。",
    kiosk_queued: "网络不可用：已保存在本设备上，{count} 条待发送。",
    kiosk_all_sent: "离线保存的线索已全部发送。",
    kiosk_not_accepted: "一条离线保存的线索未被接受：",
    kiosk_next_visitor: "下一位访客",
    required: "必填",
    not_a_field: "不是此表单的字段",
    not_an_email: "不是有效的邮箱地址",
    not_a_date: "不是有效的日期（年-月-日）",
    not_a_format: "格式不正确（{format}）",
    not_a_phone: "不是有效的电话号码",
    min_length: "至少需要 {limit} 个字符",
    max_length: "最多 {limit} 个字符",
    minimum: "不能小于 {limit}",
    maximum: "不能大于 {limit}",
    exclusive_minimum: "必须大于 {limit}",
    exclusive_maximum: "必须小于 {limit}",
    min_items: "至少选择 {limit} 项",
    max_items: "最多选择 {limit} 项",
    not_a_choice: "请从给出的选项中选择",
    repeated_choice: "选项不能重复",
    pattern: "格式不正确",
    not_an_integer: "必须是整数",
    not_a_number: "必须是数字",
    not_a_boolean: "必须是“是”或“否”",
    not_text: "必须是文字",
    not_a_list: "必须是一组选项",
    must_be_checked: "必须勾选",
    must_be: "必须为 {value}",
    not_valid: "填写有误",
};

pub const FORM_EN: FormWords = FormWords {
    please_choose: "— Please choose —",
    required_when: "Required when {field} is {value}",
    fix_fields: "Please correct the fields marked below.",
    thank_you: "Thank you! We received your details and will be in touch soon.",
    submit: "Submit",
    honeypot: "Leave this field empty (it catches automated submissions)",
    welcome_back: "Welcome back! We only ask what we do not know yet.",
    not_you: "Not you? Start over",
    form_unavailable: "Form unavailable",
    link_not_valid: "This link is not valid.",
    kiosk_saved: "Saved. Ready for the next visitor.",
    kiosk_queued: "No network: kept on this device, {count} waiting to be sent.",
    kiosk_all_sent: "Every lead kept offline has been sent.",
    kiosk_not_accepted: "A lead kept offline was not accepted: ",
    kiosk_next_visitor: "Next visitor",
    required: "is required",
    not_a_field: "is not a field of this form",
    not_an_email: "is not a valid email address",
    not_a_date: "is not a valid date (YYYY-MM-DD)",
    not_a_format: "is not a valid {format}",
    not_a_phone: "is not a valid phone number",
    min_length: "must be at least {limit} characters",
    max_length: "must be at most {limit} characters",
    minimum: "must be at least {limit}",
    maximum: "must be at most {limit}",
    exclusive_minimum: "must be more than {limit}",
    exclusive_maximum: "must be less than {limit}",
    min_items: "choose at least {limit}",
    max_items: "choose at most {limit}",
    not_a_choice: "is not one of the choices",
    repeated_choice: "must not repeat a choice",
    pattern: "does not have the expected format",
    not_an_integer: "must be a whole number",
    not_a_number: "must be a number",
    not_a_boolean: "must be yes or no",
    not_text: "must be text",
    not_a_list: "must be a list of choices",
    must_be_checked: "must be checked",
    must_be: "must be {value}",
    not_valid: "is not valid",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_setting_wins_then_the_browsers_best() {
        assert_eq!(Lang::negotiate(Some("en"), Some("zh-CN")), Lang::En);
        assert_eq!(Lang::negotiate(None, Some("en-US,en;q=0.9,zh;q=0.8")), Lang::En);
        assert_eq!(Lang::negotiate(None, Some("fr;q=1, zh-TW;q=0.7, en;q=0.5")), Lang::Zh);
        assert_eq!(Lang::negotiate(None, Some("en;q=0.2, zh-Hans;q=0.9")), Lang::Zh);
        assert_eq!(Lang::negotiate(None, Some("de")), Lang::Zh);
        assert_eq!(Lang::negotiate(None, None), Lang::Zh);
    }
}
