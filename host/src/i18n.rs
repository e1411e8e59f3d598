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
    locked_login: "失败次数过多，请稍后再试（分钟）：",
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
    locked_login: "Too many failed attempts; try again in (minutes):",
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
    activity_saved: "Activity logged.",
    stage_changed: "Stage changed.",
    fix_errors: "Please fix these:",
    minutes: "min",
    hours: "h",
    days: "d",
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
