//! A run's next steps: the `nurture` job.
//!
//! The job reads the run, its workflow version and the lead, then goes
//! through the steps from where the run stands until one waits or the run
//! ends: a plan of effects (emails, fields, tags, tasks, notifications, a
//! hand-over) and the run's next place, decided without writing anything
//! (plugin steps are called here, off the async workers). The plan is then
//! written with the job's removal in one unit ([`FinishRunStep`]), checked
//! against the run's `seq`: a crash before it repeats the evaluation, never
//! a step's effect, and a plan for a run that moved meanwhile (an awaited
//! event came) is dropped.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::actions::{ActionTally, Checked, StepAction};
use super::workflow::{Condition, Step, TimeOfDay, Workflow, duration};
use super::{ActiveWorkflow, LeadChange, active_workflows, consents, enrolment};
use crate::app::AppState;
use crate::clock::Timestamp;
use crate::domain::{EmailStatus, Job, JobRecord, LeadJob, NoticeKind, RunJob, WorkflowStatus};
use crate::email::compose::{Composed, OwnerView, Templates, render};
use crate::email::links;
use crate::email::message::message_id;
use crate::notifications::{Notice, notify};
use crate::plugins::StepCalls;
use crate::plugins::calls::prepare;
use crate::plugins::contract::{actions_json, check_actions};
use crate::plugins::sandbox::CallRecord;
use crate::scoring::Behaviour;
use crate::scoring::model::field_value;
use crate::storage::{
    BehaviourEventRecord, EmailRecord, LeadRecord, LeadVisibility, NewEmail, RunMove, RunRecord, StoreError,
    StoreResult, TenantSettings, TenantStore, Unit, UnitOfWork, UserRecord, new_id,
};

/// Steps one job goes through at most (a workflow has at most 100, and a
/// loop needs a wait); past it the run waits a minute, as a guard.
const MAX_STEPS_PER_JOB: usize = 200;
/// How often a run of a paused workflow looks again.
const PAUSED_RETRY: Duration = Duration::from_secs(60);

/// A round of a tenant's `nurture` jobs: their runs and what the runs'
/// steps read, read at once for all of them (see `storage::RoundRows`);
/// each job then takes its own share.
pub struct Round {
    runs: HashMap<String, RunRecord>,
    contexts: Mutex<HashMap<String, RunContext>>,
}

impl Round {
    /// Reads the round of `jobs` (all of one tenant).
    pub async fn read(state: &AppState, tenant_id: &str, jobs: &[JobRecord]) -> StoreResult<Self> {
        let store = state.store.tenant(tenant_id);
        let run_ids: Vec<&str> = jobs
            .iter()
            .filter_map(|job| match &job.job {
                Job::Nurture(due) => Some(due.run_id.as_str()),
                _ => None,
            })
            .collect();
        let mut rows = store.round_rows(&run_ids).await?;
        let consent_fields = state.nurture.consent_fields(&store).await?;
        let settings = store.settings().await?;
        let mut contexts = HashMap::new();
        for run in &rows.runs {
            let Some(lead) = rows.leads.get(&run.lead_id).cloned() else {
                continue; // read again by the job, which then fails as it should
            };
            let owner = lead.owner_id.as_ref().and_then(|id| rows.owners.get(id)).cloned();
            let suppressed = lead
                .email
                .as_ref()
                .is_some_and(|address| rows.suppressed.contains(&address.to_lowercase()));
            let context = RunContext::new(RunReads {
                events: rows.events.get(&lead.id).cloned().unwrap_or_default(),
                tags: rows.tags.get(&lead.id).cloned().unwrap_or_default(),
                emails: rows.emails.remove(&run.id).unwrap_or_default(),
                settings: settings.clone(),
                consent_fields: &consent_fields,
                suppressed,
                owner,
                lead,
            });
            contexts.insert(run.id.clone(), context);
        }
        Ok(Self {
            runs: rows.runs.into_iter().map(|run| (run.id.clone(), run)).collect(),
            contexts: Mutex::new(contexts),
        })
    }

    fn take_context(&self, run_id: &str) -> Option<RunContext> {
        self.contexts.lock().expect("not poisoned").remove(run_id)
    }
}

/// Runs the `nurture` job `due` (claimed as `job`), with what its round
/// read for it if it ran in one.
pub async fn advance(state: &AppState, job: &JobRecord, due: &RunJob, round: Option<&Round>) -> StoreResult<()> {
    let store = state.store.tenant(&job.tenant_id);
    let run = match round {
        Some(round) => round.runs.get(&due.run_id).cloned().ok_or(StoreError::NotFound),
        None => store.nurture_run(&due.run_id).await,
    };
    let run = match run {
        Ok(run) if run.is_active() && run.seq == due.seq => run,
        // Ended, moved on, or gone: the job has nothing left to do.
        Ok(_) | Err(StoreError::NotFound) => return store.run(DropJob(job.id.clone())).await,
        Err(other) => return Err(other),
    };
    let (status, workflow) = state
        .nurture
        .run_workflow(&store, &run.workflow_id, run.version)
        .await?;
    let now = Timestamp::now();
    let (plan, sender) = match status {
        WorkflowStatus::Paused => {
            return state
                .store
                .retry_job(&job.id, "the workflow is paused", now.plus(PAUSED_RETRY))
                .await;
        }
        WorkflowStatus::Archived => (Plan::ended("the workflow was archived"), None),
        WorkflowStatus::Active => {
            let context = match round.and_then(|round| round.take_context(&run.id)) {
                Some(context) => context,
                None => {
                    let consent_fields = state.nurture.consent_fields(&store).await?;
                    RunContext::read(&store, &run, &consent_fields).await?
                }
            };
            let sender = context.lead.email.clone().map(|to| Sender {
                to,
                from: context.settings.sender(),
                link_key: context.settings.link_key.clone(),
            });
            let plan = Planner::new(state, &store, &workflow, &run, context, now)
                .plan()
                .await?;
            (plan, sender)
        }
    };
    let workflows = active_workflows(&state.nurture.active, &store).await?;
    store
        .run(FinishRunStep {
            job_id: job.id.clone(),
            run: run.clone(),
            plan,
            workflows,
            public_url: state.settings.public_url.clone().unwrap_or_default(),
            sender,
        })
        .await
}

/// What a run's steps read of the lead and its tenant.
struct RunContext {
    lead: LeadRecord,
    owner: Option<UserRecord>,
    tags: BTreeSet<String>,
    /// Kinds of behaviour event the lead has.
    events: HashSet<String>,
    /// The lead's behaviour, as plugins see it.
    behaviour: Behaviour,
    /// This run's emails (branches on opens and clicks read them).
    emails: Vec<EmailRecord>,
    consent: bool,
    suppressed: bool,
    settings: TenantSettings,
}

/// The rows a run's context is made of, read for the run alone or for its round.
struct RunReads<'a> {
    lead: LeadRecord,
    owner: Option<UserRecord>,
    events: Vec<BehaviourEventRecord>,
    tags: Vec<String>,
    emails: Vec<EmailRecord>,
    suppressed: bool,
    settings: TenantSettings,
    consent_fields: &'a BTreeSet<String>,
}

impl RunContext {
    /// Reads the context of a run whose job ran alone (not in a round).
    async fn read(store: &TenantStore<'_>, run: &RunRecord, consent_fields: &BTreeSet<String>) -> StoreResult<Self> {
        let lead = store.lead(&run.lead_id, &LeadVisibility::All).await?;
        let owner = match &lead.owner_id {
            Some(id) => Some(store.user_by_id(id).await?),
            None => None,
        };
        let suppressed = match &lead.email {
            Some(address) => store.is_suppressed(address).await?,
            None => false,
        };
        Ok(Self::new(RunReads {
            events: store.behaviour_events(&lead.id).await?,
            tags: store.lead_tags(&lead.id).await?,
            emails: store.run_emails(&run.id).await?,
            settings: store.settings().await?,
            consent_fields,
            suppressed,
            owner,
            lead,
        }))
    }

    fn new(reads: RunReads<'_>) -> Self {
        let RunReads {
            lead,
            owner,
            events: recorded,
            tags,
            emails,
            suppressed,
            settings,
            consent_fields,
        } = reads;
        let events = recorded.iter().map(|e| e.kind.clone()).collect();
        let behaviour = Behaviour::from_events(recorded.into_iter().map(|e| (e.kind, e.occurred_at)).collect());
        Self {
            consent: consents(&lead.fields, consent_fields),
            tags: tags.into_iter().collect(),
            emails,
            settings,
            owner,
            events,
            behaviour,
            suppressed,
            lead,
        }
    }
}

/// What a run's steps do, decided before anything is written.
#[derive(Debug, Default)]
pub struct Plan {
    effects: Vec<Effect>,
    /// Lines of the run's log: step id, outcome, detail.
    log: Vec<(String, String, Value)>,
    next: Option<Next>,
    /// Plugin calls made by plugin steps, their records and failures.
    calls: Vec<crate::domain::PluginCall>,
    events: Vec<(String, Value)>,
}

#[derive(Debug)]
enum Effect {
    Email { step_id: String, email: Composed },
    SetField { field: String, value: Value },
    AddTag(String),
    Task { title: String, due: Timestamp },
    Notify { step_id: String, message: String },
    HandToSales { step_id: String },
}

#[derive(Debug)]
enum Next {
    Wait {
        step: usize,
        until: Timestamp,
        waiting_for: Option<String>,
        resume: Option<Value>,
    },
    End(String),
}

impl Plan {
    fn ended(reason: &str) -> Self {
        Self {
            next: Some(Next::End(reason.to_owned())),
            ..Default::default()
        }
    }

    fn log(&mut self, step_id: &str, outcome: &str, detail: Value) {
        self.log.push((step_id.to_owned(), outcome.to_owned(), detail));
    }
}

/// A plugin step's actions left after its wait, stored on the run.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Resume {
    step_id: String,
    actions: Vec<StepAction>,
}

struct Planner<'a> {
    state: &'a AppState,
    store: &'a TenantStore<'a>,
    workflow: &'a Workflow,
    run: &'a RunRecord,
    context: RunContext,
    now: Timestamp,
    plan: Plan,
}

impl<'a> Planner<'a> {
    fn new(
        state: &'a AppState,
        store: &'a TenantStore<'a>,
        workflow: &'a Workflow,
        run: &'a RunRecord,
        context: RunContext,
        now: Timestamp,
    ) -> Self {
        Self {
            state,
            store,
            workflow,
            run,
            context,
            now,
            plan: Plan::default(),
        }
    }

    async fn plan(mut self) -> StoreResult<Plan> {
        let mut at = self.run.step.max(0) as usize;
        if let Some(resume) = &self.run.resume {
            match serde_json::from_value::<Resume>(resume.clone()) {
                Ok(resume) => {
                    if let Some(wait) = self.carry_out(&resume.step_id, resume.actions, at) {
                        self.plan.next = Some(wait);
                        return Ok(self.plan);
                    }
                }
                Err(e) => self.plan.log("resume", "skipped", json!({"error": e.to_string()})),
            }
        }
        for _ in 0..MAX_STEPS_PER_JOB {
            let Some(step) = self.workflow.steps.get(at) else {
                self.plan.next = Some(Next::End("completed".into()));
                return Ok(self.plan);
            };
            let step_id = step.id().to_owned();
            match step {
                Step::Wait {
                    duration: wait,
                    until,
                    event,
                    timeout,
                    ..
                } => {
                    let until = match (wait, until, timeout) {
                        (Some(wait), _, _) | (_, _, Some(wait)) => self.now.plus(duration(wait).unwrap_or_default()),
                        (None, Some(time), None) => next_time_of_day(self.now, &self.context.settings.time_zone, time),
                        (None, None, None) => self.now,
                    };
                    self.plan
                        .log(&step_id, "waiting", json!({"until": until, "event": event}));
                    self.plan.next = Some(Next::Wait {
                        step: at + 1,
                        until,
                        waiting_for: event.clone(),
                        resume: None,
                    });
                    return Ok(self.plan);
                }
                Step::SendEmail { email, .. } => {
                    let owner = self.context.owner.as_ref().map(|o| OwnerView {
                        name: &o.name,
                        email: &o.email,
                    });
                    let templates = Templates {
                        subject: &email.subject,
                        text: &email.text,
                        html: email.html.as_deref(),
                        fallbacks: &email.fallbacks,
                    };
                    match render(&templates, &self.context.lead, owner) {
                        Ok(composed) => self.email(&step_id, composed),
                        Err(e) => self.plan.log(&step_id, "failed", json!({"error": e})),
                    }
                    at += 1;
                }
                Step::Branch {
                    condition,
                    then,
                    otherwise,
                    ..
                } => {
                    let holds = self.holds(condition);
                    let target = match (holds, otherwise) {
                        (true, _) => Some(then.as_str()),
                        (false, Some(otherwise)) => Some(otherwise.as_str()),
                        (false, None) => None,
                    };
                    self.plan
                        .log(&step_id, "branched", json!({"condition": holds, "to": target}));
                    at = match target {
                        Some(id) => self.index_of(id).unwrap_or(self.workflow.steps.len()),
                        None => at + 1,
                    };
                }
                Step::SetField { field, value, .. } => {
                    if let Some(fields) = self.context.lead.fields.as_object_mut() {
                        fields.insert(field.clone(), value.clone());
                    }
                    self.plan.effects.push(Effect::SetField {
                        field: field.clone(),
                        value: value.clone(),
                    });
                    self.plan.log(&step_id, "done", json!({"field": field}));
                    at += 1;
                }
                Step::SetTag { tag, .. } => {
                    self.tag(&step_id, tag);
                    at += 1;
                }
                Step::CreateTask { title, due_in, .. } => {
                    let due = due_in
                        .as_deref()
                        .and_then(|d| duration(d).ok())
                        .map_or(self.now, |d| self.now.plus(d));
                    match &self.context.owner {
                        Some(_) => {
                            self.plan.effects.push(Effect::Task {
                                title: title.clone(),
                                due,
                            });
                            self.plan.log(&step_id, "done", json!({"task": title, "due": due}));
                        }
                        None => self
                            .plan
                            .log(&step_id, "skipped", json!({"reason": "the lead has no owner"})),
                    }
                    at += 1;
                }
                Step::NotifyOwner { message, .. } => {
                    self.notify(&step_id, message);
                    at += 1;
                }
                Step::HandToSales { .. } => {
                    self.plan.effects.push(Effect::HandToSales {
                        step_id: step_id.clone(),
                    });
                    self.plan.log(&step_id, "done", json!({}));
                    at += 1;
                }
                Step::Plugin { plugin, config, .. } => {
                    let actions = self.call_plugin(&step_id, plugin, config.as_ref()).await?;
                    at += 1;
                    if let Some(wait) = self.carry_out(&step_id, actions, at) {
                        self.plan.next = Some(wait);
                        return Ok(self.plan);
                    }
                }
                Step::Exit { .. } => {
                    self.plan.log(&step_id, "done", json!({}));
                    self.plan.next = Some(Next::End("exit step".into()));
                    return Ok(self.plan);
                }
            }
        }
        self.plan
            .log("guard", "waiting", json!({"reason": "too many steps in one move"}));
        self.plan.next = Some(Next::Wait {
            step: at,
            until: self.now.plus(Duration::from_secs(60)),
            waiting_for: None,
            resume: None,
        });
        Ok(self.plan)
    }

    fn index_of(&self, id: &str) -> Option<usize> {
        self.workflow.steps.iter().position(|s| s.id() == id)
    }

    /// An email to the lead, if it may receive one.
    fn email(&mut self, step_id: &str, email: Composed) {
        let refusal = match (&self.context.lead.email, self.context.consent, self.context.suppressed) {
            (None, _, _) => Some("the lead has no email address"),
            (_, false, _) => Some("the lead gave no consent to email"),
            (_, _, true) => Some("the lead's address is suppressed"),
            _ => None,
        };
        match refusal {
            Some(reason) => self.plan.log(step_id, "skipped", json!({"reason": reason})),
            None => {
                self.plan.log(step_id, "queued", json!({"subject": email.subject}));
                self.plan.effects.push(Effect::Email {
                    step_id: step_id.to_owned(),
                    email,
                });
            }
        }
    }

    fn tag(&mut self, step_id: &str, tag: &str) {
        self.context.tags.insert(tag.to_owned());
        self.plan.effects.push(Effect::AddTag(tag.to_owned()));
        self.plan.log(step_id, "done", json!({"tag": tag}));
    }

    fn notify(&mut self, step_id: &str, message: &str) {
        match &self.context.owner {
            Some(_) => {
                self.plan.effects.push(Effect::Notify {
                    step_id: step_id.to_owned(),
                    message: message.to_owned(),
                });
                self.plan.log(step_id, "done", json!({"message": message}));
            }
            None => self
                .plan
                .log(step_id, "skipped", json!({"reason": "the lead has no owner"})),
        }
    }

    fn holds(&self, condition: &Condition) -> bool {
        let lead = &self.context.lead;
        let listed =
            |list: &Option<Vec<String>>, value: &str| list.as_ref().is_some_and(|l| l.iter().any(|v| v == value));
        let email_of_step = |step: &str, seen: fn(&EmailRecord) -> bool| {
            self.context
                .emails
                .iter()
                .any(|e| e.step_id.as_deref() == Some(step) && seen(e))
        };
        if let Some(min) = condition.score_at_least {
            lead.score >= min
        } else if condition.tier.is_some() {
            listed(&condition.tier, lead.tier.as_str())
        } else if condition.stage.is_some() {
            listed(&condition.stage, lead.stage.as_str())
        } else if let Some(field) = &condition.field {
            field.test.matches(field_value(&lead.fields, &field.field))
        } else if let Some(tag) = &condition.tag {
            self.context.tags.contains(tag)
        } else if let Some(kind) = &condition.event_seen {
            self.context.events.contains(kind)
        } else if let Some(step) = &condition.email_opened {
            email_of_step(step, |e| e.opened_at.is_some())
        } else if let Some(step) = &condition.email_clicked {
            email_of_step(step, |e| e.clicked_at.is_some())
        } else {
            false
        }
    }

    /// Calls a nurture-step plugin; its actions, or none when it failed
    /// (recorded on the run and the lead's timeline: the run goes on).
    async fn call_plugin(&mut self, step_id: &str, name: &str, config: Option<&Value>) -> StoreResult<Vec<StepAction>> {
        let host = &self.state.plugins;
        let enabled = host.enabled(self.store, crate::domain::World::NurtureStep).await?;
        let Some(record) = enabled.into_iter().find(|p| p.name == name) else {
            self.plan.log(
                step_id,
                "plugin_failed",
                json!({"plugin": name, "error": "the plugin is not enabled"}),
            );
            return Ok(Vec::new());
        };
        let config = config.map_or_else(|| record.config.to_string(), |c| c.to_string());
        let Some(prepared) = prepare(host, self.store, vec![record]).await.pop() else {
            return Ok(Vec::new());
        };
        let limits = crate::plugins::sandbox::Limits {
            clock_at: Some(self.now),
            ..host.limits(self.store).await?
        };
        let mut calls = StepCalls::new(
            host,
            self.store.tenant_id(),
            &self.context.lead,
            self.context.behaviour.counts(self.now),
            limits,
        );
        let (lead, prepared) = (calls.lead.clone(), Arc::new(prepared));
        let for_call = prepared.clone();
        let record = host
            .run(self.store.tenant_id(), move |sandbox| {
                for_call.call(|component| component.run_step(sandbox, &limits, &lead, &config).map(check_actions))
            })
            .await
            .unwrap_or_else(CallRecord::failed);
        let actions = calls.record(&prepared.plugin, record, |a| actions_json(a));
        if actions.is_none() {
            let error = calls.outcomes.last().and_then(|o| o.error.clone());
            self.plan
                .log(step_id, "plugin_failed", json!({"plugin": name, "error": error}));
        }
        self.plan.calls.append(&mut calls.calls);
        self.plan.events.append(&mut calls.events);
        Ok(actions.unwrap_or_default().into_iter().map(StepAction::from).collect())
    }

    /// Carries out a plugin's actions in order, each checked; a wait ends
    /// the move, the actions after it stored to resume from (`next_step`
    /// follows them).
    fn carry_out(&mut self, step_id: &str, actions: Vec<StepAction>, next_step: usize) -> Option<Next> {
        let mut tally = ActionTally::default();
        let lead_email = self.context.lead.email.clone();
        let mut actions = actions.into_iter();
        while let Some(action) = actions.next() {
            match action.check(lead_email.as_deref(), &mut tally) {
                Err(reason) => {
                    self.plan
                        .log(step_id, "refused", json!({"action": action.name(), "reason": reason}));
                    self.plan.events.push((
                        "nurture_action_refused".into(),
                        json!({"workflow": self.run.workflow, "step": step_id, "action": action.name(), "reason": reason}),
                    ));
                }
                Ok(Checked::Email(email)) => self.email(step_id, email),
                Ok(Checked::AddTag(tag)) => self.tag(step_id, &tag),
                Ok(Checked::NotifyOwner(message)) => self.notify(step_id, &message),
                Ok(Checked::Wait(wait)) => {
                    let rest: Vec<StepAction> = actions.collect();
                    let until = self.now.plus(wait);
                    self.plan.log(step_id, "waiting", json!({"until": until}));
                    let resume = (!rest.is_empty()).then(|| {
                        serde_json::to_value(Resume {
                            step_id: step_id.to_owned(),
                            actions: rest,
                        })
                        .expect("actions serialise")
                    });
                    return Some(Next::Wait {
                        step: next_step,
                        until,
                        waiting_for: None,
                        resume,
                    });
                }
            }
        }
        None
    }
}

/// The next moment at `time` ("09:00") on one of its weekdays (every day
/// when none is given) in the tenant's time zone; UTC when the zone is
/// unknown.
pub fn next_time_of_day(now: Timestamp, zone: &str, time: &TimeOfDay) -> Timestamp {
    let zone = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let (hour, minute) = time
        .time
        .split_once(':')
        .and_then(|(h, m)| Some((h.parse::<i8>().ok()?, m.parse::<i8>().ok()?)))
        .unwrap_or((9, 0));
    let Ok(start) = jiff::Timestamp::from_microsecond(now.micros()) else {
        return now;
    };
    let mut day = start.to_zoned(zone.clone()).date();
    for _ in 0..8 {
        let weekday = day.weekday().to_monday_zero_offset() as usize;
        let allowed = time.weekdays.is_empty() || time.weekdays.iter().any(|d| WEEKDAYS[weekday] == d);
        if let Ok(at) = day.at(hour, minute, 0, 0).to_zoned(zone.clone())
            && allowed
            && at.timestamp() > start
        {
            return Timestamp(at.timestamp().as_microsecond());
        }
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    now
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Removes a job that has nothing left to do.
struct DropJob(String);

#[async_trait::async_trait]
impl UnitOfWork for DropJob {
    type Output = ();

    async fn run(&self, unit: &mut Unit<'_>) -> StoreResult<()> {
        unit.take_job(&self.0).await?;
        Ok(())
    }
}

/// A run's plan written with its job's removal.
struct FinishRunStep {
    job_id: String,
    run: RunRecord,
    plan: Plan,
    workflows: Arc<Vec<ActiveWorkflow>>,
    public_url: String,
    /// Who the run's emails go to and come from (`None`: the lead has no address).
    sender: Option<Sender>,
}

/// An email's addresses and the key its links are signed with.
struct Sender {
    to: String,
    from: String,
    link_key: String,
}

#[async_trait::async_trait]
impl UnitOfWork for FinishRunStep {
    type Output = ();

    async fn run(&self, unit: &mut Unit<'_>) -> StoreResult<()> {
        let now = Timestamp::now();
        if !unit.take_job(&self.job_id).await? {
            return Ok(()); // another worker ran it
        }
        let run = &self.run;
        let current = unit.held_run(&run.id, &run.lead_id).await?;
        if !current.is_some_and(|c| c.is_active() && c.seq == run.seq) {
            return Ok(()); // the run moved on meanwhile (an awaited event, an exit)
        }
        // Read (and held) only when the plan changes the lead's fields or hands it over.
        let reads_lead = self
            .plan
            .effects
            .iter()
            .any(|e| matches!(e, Effect::SetField { .. } | Effect::HandToSales { .. }));
        let (mut fields, held) = match reads_lead {
            true => match unit.lead_fields_and_hold(&run.lead_id).await? {
                Some(found) => found,
                None => return Ok(()),
            },
            false => (Value::Null, false),
        };
        let lead_id = run.lead_id.as_str();
        let mut fields_changed = false;
        let mut tags_added = Vec::new();
        for effect in &self.plan.effects {
            match effect {
                Effect::Email { step_id, email } => {
                    if let Some(sender) = &self.sender {
                        queue_email(unit, run, step_id, email, sender, &self.public_url, now);
                    }
                }
                Effect::SetField { field, value } => {
                    if let Some(map) = fields.as_object_mut() {
                        map.insert(field.clone(), value.clone());
                        fields_changed = true;
                    }
                }
                Effect::AddTag(tag) => {
                    if unit.add_tag(lead_id, tag, now).await? {
                        unit.timeline(lead_id, "tag_added", &json!({"tag": tag, "by": run.workflow}), now);
                        tags_added.push(tag.as_str());
                    }
                }
                Effect::Task { title, due } => {
                    if let Some(owner) = unit.lead_owner(lead_id).await? {
                        unit.insert_task(&owner, lead_id, title, *due, now);
                        unit.timeline(
                            lead_id,
                            "task_created",
                            &json!({"title": title, "owner": owner, "due": due}),
                            now,
                        );
                    }
                }
                Effect::Notify { step_id, message } => {
                    if let Some(owner) = unit.lead_owner(lead_id).await? {
                        let notice = Notice {
                            user_id: &owner,
                            kind: NoticeKind::Nurture,
                            lead_id: Some(lead_id),
                            message: message.clone(),
                        };
                        notify(unit, notice, now);
                        let detail =
                            json!({"workflow": run.workflow, "step": step_id, "owner": owner, "message": message});
                        unit.timeline(lead_id, "owner_notified", &detail, now);
                    }
                }
                Effect::HandToSales { step_id } => {
                    if held {
                        let job = Job::HandToSales(LeadJob {
                            lead_id: lead_id.to_owned(),
                        });
                        unit.add_job(&JobRecord::held(new_id(), unit.tenant_id(), job), now, None);
                    }
                    let detail = json!({"workflow": run.workflow, "step": step_id, "held": held});
                    unit.timeline(lead_id, "handed_to_sales", &detail, now);
                }
            }
        }
        if fields_changed {
            unit.set_lead_fields(lead_id, &fields, now);
        }
        for (step_id, outcome, detail) in &self.plan.log {
            unit.run_log(&run.id, step_id, outcome, detail, now);
        }
        for (kind, detail) in &self.plan.events {
            unit.timeline(lead_id, kind, detail, now);
        }
        unit.plugin_calls(&self.plan.calls, now);
        let seq = run.seq + 1;
        match &self.plan.next {
            Some(Next::Wait {
                step,
                until,
                waiting_for,
                resume,
            }) => {
                let to = RunMove::Wait {
                    step: *step as i32,
                    until: *until,
                    waiting_for: waiting_for.as_deref(),
                    resume: resume.as_ref(),
                };
                unit.move_run(&run.id, lead_id, seq, to, now);
                let job = Job::Nurture(RunJob {
                    run_id: run.id.clone(),
                    seq,
                });
                unit.add_job_at(&JobRecord::held(new_id(), unit.tenant_id(), job), *until, now);
            }
            Some(Next::End(reason)) => enrolment::end(unit, run, reason, now),
            None => enrolment::end(unit, run, "completed", now),
        }
        let changes: Vec<LeadChange<'_>> = tags_added.into_iter().map(LeadChange::TagAdded).collect();
        if !changes.is_empty() {
            enrolment::react(unit, &self.workflows, lead_id, &changes, now).await?;
        }
        Ok(())
    }
}

/// Writes an email to the outbox with its Message-ID and the job that
/// sends it.
fn queue_email(
    unit: &mut Unit<'_>,
    run: &RunRecord,
    step_id: &str,
    email: &Composed,
    sender: &Sender,
    public_url: &str,
    now: Timestamp,
) {
    let Sender {
        to,
        from,
        link_key: key,
    } = sender;
    let id = new_id();
    let message_id = message_id(&id, from);
    let email = email
        .clone()
        .tracked(public_url, key, &id)
        .with_footer(&links::unsubscribe_url(public_url, key, &id));
    unit.insert_email(
        &NewEmail {
            id: &id,
            lead_id: Some(&run.lead_id),
            run_id: Some(&run.id),
            step_id: Some(step_id),
            user_id: None,
            message_id: &message_id,
            to,
            from,
            subject: &email.subject,
            text: &email.text,
            html: email.html.as_deref(),
        },
        now,
    );
    let job = Job::Email(crate::domain::EmailJob { email_id: id.clone() });
    unit.add_job(&JobRecord::held(new_id(), unit.tenant_id(), job), now, None);
    let detail = json!({"email": id, "workflow": run.workflow, "step": step_id, "subject": email.subject,
                        "status": EmailStatus::Queued});
    unit.timeline(&run.lead_id, "email_queued", &detail, now);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn a_time_of_day_is_the_next_one_in_the_tenants_zone() {
        let nine = TimeOfDay {
            time: "09:00".into(),
            weekdays: vec![],
        };
        // 08:00 in Shanghai (00:00 UTC): today at 09:00 there.
        let got = next_time_of_day(at("2026-12-01T00:00:00Z"), "Asia/Shanghai", &nine);
        assert_eq!(got, at("2026-12-01T01:00:00Z"));
        // 10:00 in Shanghai: tomorrow.
        let got = next_time_of_day(at("2026-12-01T02:00:00Z"), "Asia/Shanghai", &nine);
        assert_eq!(got, at("2026-12-02T01:00:00Z"));
        // Tuesday 2026-12-01; the next Monday is the 7th.
        let mondays = TimeOfDay {
            time: "09:00".into(),
            weekdays: vec!["mon".into()],
        };
        let got = next_time_of_day(at("2026-12-01T02:00:00Z"), "UTC", &mondays);
        assert_eq!(got, at("2026-12-07T09:00:00Z"));
    }
}
