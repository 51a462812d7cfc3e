"""The SQL text SQLAlchemy sends today for the unit of work of bench/load, hard-coded.

For bench/load/raw.py: captured from a short run of bench.load.worker on PostgreSQL with a
``before_cursor_execute`` hook (core.services.authority / booking / approval in Core,
requests.submit through the ORM), byte for byte, ``%(name)s`` parameters and ``::`` casts
included. ``{orgs}`` stands for an expanding ``IN`` list (``%(orgs_1)s::INTEGER, …``),
rendered per number of the officer's organisations by ``in_orgs`` as SQLAlchemy renders it.
ENROLL_AGAIN and MOVE_SEATS (rare paths, absent from a short run) are the psycopg dialect's
rendering of the booking statements. tests/integration/test_bench_raw.py checks that every
statement the services' worker sends in a committed transaction is one of these.
"""

from __future__ import annotations

from functools import cache


@cache
def in_orgs(sql: str, count: int) -> str:
    """The statement with its ``IN ({orgs})`` lists expanded for ``count`` organisations."""
    listed = ", ".join(f"%(orgs_{n})s::INTEGER" for n in range(1, count + 1))
    return sql.replace("{orgs}", listed)


def orgs_params(ids: tuple[int, ...]) -> dict[str, int]:
    return {f"orgs_{n}": value for n, value in enumerate(ids, 1)}


# -- enroll / unenroll (core.services.authority, core.services.booking) -------------------------

LOAD_AUTHORITY = (
    'SELECT officers.id, officers.email, officers.valid_until, organisations.id AS '
    'organisation_id, organisations.code \n'
    'FROM officers LEFT OUTER JOIN officer_organisations ON officer_organisations.officer_id '
    '= officers.id LEFT OUTER JOIN organisations ON organisations.id = '
    'officer_organisations.organisation_id \n'
    'WHERE officers.id = %(oid)s::INTEGER ORDER BY organisations.code'
)
TAKE_SEAT_BY_ID = (
    'UPDATE training_sessions SET seats_taken=(training_sessions.seats_taken + '
    '%(seats_taken_1)s::INTEGER) WHERE training_sessions.id = %(sid)s::INTEGER AND '
    'training_sessions.seats_taken < training_sessions.capacity AND '
    'training_sessions.cancelled IS false AND training_sessions.starts_on >= %(today)s::DATE '
    'AND (EXISTS (SELECT * \n'
    'FROM trainings \n'
    'WHERE trainings.id = training_sessions.training_id AND (trainings.kind != %(kind_1)s OR '
    'trainings.owner_organisation_id IN ({orgs})))) AND (EXISTS (SELECT * \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = %(pid)s::INTEGER AND collaborators.active IS true AND '
    'collaborators.organisation_id IN ({orgs}))) AND NOT (EXISTS (SELECT * \n'
    'FROM enrollments AS mine \n'
    'WHERE mine.session_id = training_sessions.id AND mine.collaborator_id = '
    '%(pid)s::INTEGER AND mine.state != %(state_1)s)) AND NOT (EXISTS (SELECT * \n'
    'FROM enrollments AS other, training_sessions AS other_session \n'
    'WHERE other.collaborator_id = %(pid)s::INTEGER AND other.session_id = other_session.id '
    'AND other_session.training_id = training_sessions.training_id AND other_session.id != '
    'training_sessions.id AND other_session.starts_on >= %(today)s::DATE AND other.state IN '
    '(%(state_2_1)s, %(state_2_2)s, %(state_2_3)s, %(state_2_4)s))) AND NOT (EXISTS (SELECT '
    '* \n'
    'FROM enrollments AS lapsed \n'
    'WHERE lapsed.session_id = training_sessions.id AND lapsed.state IN (%(state_3_1)s, '
    '%(state_3_2)s) AND lapsed.hold_expires_at <= %(now)s::TIMESTAMP WITHOUT TIME ZONE)) '
    'RETURNING training_sessions.id, training_sessions.starts_on, training_sessions.ends_on, '
    'training_sessions.place, training_sessions.capacity, training_sessions.seats_taken, '
    '(SELECT trainings.code \n'
    'FROM trainings \n'
    'WHERE trainings.id = training_sessions.training_id) AS code, (SELECT trainings.titles \n'
    'FROM trainings \n'
    'WHERE trainings.id = training_sessions.training_id) AS titles, (SELECT '
    'collaborators.surname \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = %(pid)s::INTEGER) AS surname, (SELECT '
    'collaborators.given_names \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = %(pid)s::INTEGER) AS given_names, (SELECT collaborators.sex \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = %(pid)s::INTEGER) AS sex, (SELECT collaborators.email \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = %(pid)s::INTEGER) AS email, (SELECT collaborators.language \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = %(pid)s::INTEGER) AS language, (SELECT mine.id \n'
    'FROM enrollments AS mine \n'
    'WHERE mine.session_id = training_sessions.id AND mine.collaborator_id = '
    '%(pid)s::INTEGER) AS cancelled_id'
)
TAKE_SEAT_BY_WISH = (
    'UPDATE training_sessions SET seats_taken=(training_sessions.seats_taken + '
    '%(seats_taken_1)s::INTEGER) WHERE training_sessions.training_id = (SELECT trainings.id \n'
    'FROM trainings \n'
    'WHERE trainings.code = %(code)s::VARCHAR) AND training_sessions.starts_on = '
    '%(start)s::DATE AND training_sessions.seats_taken < training_sessions.capacity AND '
    'training_sessions.cancelled IS false AND training_sessions.starts_on >= %(today)s::DATE '
    'AND (EXISTS (SELECT * \n'
    'FROM trainings \n'
    'WHERE trainings.id = training_sessions.training_id AND (trainings.kind != %(kind_1)s OR '
    'trainings.owner_organisation_id IN ({orgs})))) AND (EXISTS (SELECT * \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = %(pid)s::INTEGER AND collaborators.active IS true AND '
    'collaborators.organisation_id IN ({orgs}))) AND NOT (EXISTS (SELECT * \n'
    'FROM enrollments AS mine \n'
    'WHERE mine.session_id = training_sessions.id AND mine.collaborator_id = '
    '%(pid)s::INTEGER AND mine.state != %(state_1)s)) AND NOT (EXISTS (SELECT * \n'
    'FROM enrollments AS other, training_sessions AS other_session \n'
    'WHERE other.collaborator_id = %(pid)s::INTEGER AND other.session_id = other_session.id '
    'AND other_session.training_id = training_sessions.training_id AND other_session.id != '
    'training_sessions.id AND other_session.starts_on >= %(today)s::DATE AND other.state IN '
    '(%(state_2_1)s, %(state_2_2)s, %(state_2_3)s, %(state_2_4)s))) AND NOT (EXISTS (SELECT '
    '* \n'
    'FROM enrollments AS lapsed \n'
    'WHERE lapsed.session_id = training_sessions.id AND lapsed.state IN (%(state_3_1)s, '
    '%(state_3_2)s) AND lapsed.hold_expires_at <= %(now)s::TIMESTAMP WITHOUT TIME ZONE)) '
    'RETURNING training_sessions.id, training_sessions.starts_on, training_sessions.ends_on, '
    'training_sessions.place, training_sessions.capacity, training_sessions.seats_taken, '
    '(SELECT trainings.code \n'
    'FROM trainings \n'
    'WHERE trainings.id = training_sessions.training_id) AS code, (SELECT trainings.titles \n'
    'FROM trainings \n'
    'WHERE trainings.id = training_sessions.training_id) AS titles, (SELECT '
    'collaborators.surname \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = %(pid)s::INTEGER) AS surname, (SELECT '
    'collaborators.given_names \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = %(pid)s::INTEGER) AS given_names, (SELECT collaborators.sex \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = %(pid)s::INTEGER) AS sex, (SELECT collaborators.email \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = %(pid)s::INTEGER) AS email, (SELECT collaborators.language \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = %(pid)s::INTEGER) AS language, (SELECT mine.id \n'
    'FROM enrollments AS mine \n'
    'WHERE mine.session_id = training_sessions.id AND mine.collaborator_id = '
    '%(pid)s::INTEGER) AS cancelled_id'
)
NEW_ENROLLMENT = (
    'INSERT INTO enrollments (session_id, collaborator_id, state, hold_expires_at, '
    'created_at, updated_at) SELECT %(sid)s::INTEGER AS anon_1, %(pid)s::INTEGER AS anon_2, '
    '%(param_1)s AS anon_3, %(param_2)s::TIMESTAMP WITHOUT TIME ZONE AS anon_4, '
    '%(now)s::TIMESTAMP WITHOUT TIME ZONE AS anon_5, %(now)s::TIMESTAMP WITHOUT TIME ZONE AS '
    'anon_6 \n'
    'WHERE NOT (EXISTS (SELECT * \n'
    'FROM enrollments AS mine \n'
    'WHERE mine.session_id = %(sid)s::INTEGER AND mine.collaborator_id = %(pid)s::INTEGER)) '
    'RETURNING enrollments.id'
)
FREE_SEAT = (
    'UPDATE training_sessions SET seats_taken=(training_sessions.seats_taken - CASE WHEN '
    '((SELECT mine.state \n'
    'FROM enrollments AS mine \n'
    'WHERE mine.id = %(eid)s::INTEGER) IN (%(param_1_1)s, %(param_1_2)s, %(param_1_3)s)) '
    'THEN %(param_2)s::INTEGER ELSE %(param_3)s::INTEGER END) WHERE training_sessions.id = '
    '(SELECT mine.session_id \n'
    'FROM enrollments AS mine \n'
    'WHERE mine.id = %(eid)s::INTEGER) AND training_sessions.starts_on >= %(today)s::DATE '
    'AND (EXISTS (SELECT * \n'
    'FROM enrollments AS mine, collaborators \n'
    'WHERE mine.id = %(eid)s::INTEGER AND mine.state IN (%(state_1_1)s, %(state_1_2)s, '
    '%(state_1_3)s, %(state_1_4)s) AND collaborators.id = mine.collaborator_id AND '
    'collaborators.organisation_id IN ({orgs}))) AND NOT (EXISTS (SELECT * \n'
    'FROM enrollments AS lapsed \n'
    'WHERE lapsed.session_id = training_sessions.id AND lapsed.state IN (%(state_2_1)s, '
    '%(state_2_2)s) AND lapsed.hold_expires_at <= %(now)s::TIMESTAMP WITHOUT TIME ZONE)) '
    'RETURNING training_sessions.id, training_sessions.starts_on, training_sessions.ends_on, '
    'training_sessions.place, training_sessions.capacity, training_sessions.seats_taken, '
    '(SELECT trainings.code \n'
    'FROM trainings \n'
    'WHERE trainings.id = training_sessions.training_id) AS code, (SELECT trainings.titles \n'
    'FROM trainings \n'
    'WHERE trainings.id = training_sessions.training_id) AS titles, (SELECT '
    'collaborators.surname \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = (SELECT mine.collaborator_id \n'
    'FROM enrollments AS mine \n'
    'WHERE mine.id = %(eid)s::INTEGER)) AS surname, (SELECT collaborators.given_names \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = (SELECT mine.collaborator_id \n'
    'FROM enrollments AS mine \n'
    'WHERE mine.id = %(eid)s::INTEGER)) AS given_names, (SELECT collaborators.sex \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = (SELECT mine.collaborator_id \n'
    'FROM enrollments AS mine \n'
    'WHERE mine.id = %(eid)s::INTEGER)) AS sex, (SELECT collaborators.email \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = (SELECT mine.collaborator_id \n'
    'FROM enrollments AS mine \n'
    'WHERE mine.id = %(eid)s::INTEGER)) AS email, (SELECT collaborators.language \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = (SELECT mine.collaborator_id \n'
    'FROM enrollments AS mine \n'
    'WHERE mine.id = %(eid)s::INTEGER)) AS language, (SELECT mine.collaborator_id \n'
    'FROM enrollments AS mine \n'
    'WHERE mine.id = %(eid)s::INTEGER) AS person_id, (SELECT mine.state \n'
    'FROM enrollments AS mine \n'
    'WHERE mine.id = %(eid)s::INTEGER) AS from_state'
)
CANCEL = (
    'UPDATE enrollments SET state=%(state)s, hold_expires_at=%(hold_expires_at)s::TIMESTAMP '
    'WITHOUT TIME ZONE, updated_at=%(now)s::TIMESTAMP WITHOUT TIME ZONE WHERE enrollments.id '
    '= %(eid)s::INTEGER AND enrollments.state = %(was)s'
)
OFFER_TO_FIRST = (
    'UPDATE enrollments SET state=%(state)s, hold_expires_at=%(offer_until)s::TIMESTAMP '
    'WITHOUT TIME ZONE, updated_at=%(now)s::TIMESTAMP WITHOUT TIME ZONE WHERE enrollments.id '
    '= (SELECT waiting.id \n'
    'FROM enrollments AS waiting \n'
    'WHERE waiting.session_id = %(sid)s::INTEGER AND waiting.state = %(state_1)s ORDER BY '
    'waiting.updated_at, waiting.id \n'
    ' LIMIT %(param_1)s::INTEGER) RETURNING enrollments.id, enrollments.collaborator_id, '
    '(SELECT collaborators.surname \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = enrollments.collaborator_id) AS surname, (SELECT '
    'collaborators.given_names \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = enrollments.collaborator_id) AS given_names, (SELECT '
    'collaborators.sex \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = enrollments.collaborator_id) AS sex, (SELECT '
    'collaborators.email \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = enrollments.collaborator_id) AS email, (SELECT '
    'collaborators.language \n'
    'FROM collaborators \n'
    'WHERE collaborators.id = enrollments.collaborator_id) AS language'
)
INSERT_EVENTS = (
    'INSERT INTO enrollment_events (enrollment_id, from_state, to_state, at, officer_id, '
    'reason) VALUES (%(enrollment_id)s::INTEGER, %(from_state)s, %(to_state)s, '
    '%(at)s::TIMESTAMP WITHOUT TIME ZONE, %(officer_id)s::INTEGER, %(reason)s::VARCHAR)'
)
INSERT_AUDIT = (
    'INSERT INTO audit_events (at, officer_id, actor, action, subject_type, subject_id, '
    'details) VALUES (%(at)s::TIMESTAMP WITHOUT TIME ZONE, %(officer_id)s::INTEGER, '
    '%(actor)s::VARCHAR, %(action)s::VARCHAR, %(subject_type)s::VARCHAR, '
    '%(subject_id)s::INTEGER, %(details)s::JSON)'
)
INSERT_OUTBOX = (
    'INSERT INTO outbox_messages (channel, to_address, language, template, subject, context, '
    'message_id, state, attempts, next_attempt_at, created_at) VALUES (%(channel)s::VARCHAR, '
    '%(to_address)s::VARCHAR, %(language)s, %(template)s::VARCHAR, %(subject)s::VARCHAR, '
    '%(context)s::JSON, %(message_id)s::VARCHAR, %(state)s, %(attempts)s::INTEGER, '
    '%(next_attempt_at)s::TIMESTAMP WITHOUT TIME ZONE, %(created_at)s::TIMESTAMP WITHOUT '
    'TIME ZONE)'
)
ENROLL_AGAIN = (
    'UPDATE enrollments SET state=%(state)s, hold_expires_at=%(hold_expires_at)s::TIMESTAMP '
    'WITHOUT TIME ZONE, updated_at=%(now)s::TIMESTAMP WITHOUT TIME ZONE WHERE enrollments.id '
    '= %(eid)s::INTEGER AND enrollments.state = %(state_1)s'
)
MOVE_SEATS = (
    'UPDATE training_sessions SET seats_taken=(training_sessions.seats_taken + '
    '%(delta)s::INTEGER) WHERE training_sessions.id = %(sid)s::INTEGER'
)

# -- approve (core.services.approval) ------------------------------------------------------------

DECIDE = (
    'UPDATE registration_requests SET state=%(state)s, decided_by_id=%(oid)s::INTEGER, '
    'decided_at=%(now)s::TIMESTAMP WITHOUT TIME ZONE, reason=%(reason)s::VARCHAR WHERE '
    'registration_requests.id = %(rid)s::INTEGER AND registration_requests.state = '
    '%(state_1)s AND registration_requests.organisation_id IN ({orgs}) RETURNING '
    'registration_requests.id, registration_requests.external_id, '
    'registration_requests.organisation_id, registration_requests.person, '
    'registration_requests.nrn_encrypted, registration_requests.wants, '
    'registration_requests.state, registration_requests.decided_by_id, '
    'registration_requests.decided_at, registration_requests.reason, '
    'registration_requests.created_at, (SELECT organisations.code \n'
    'FROM organisations \n'
    'WHERE organisations.id = registration_requests.organisation_id) AS organisation_code'
)
NEW_PERSON = (
    'INSERT INTO collaborators (nrn_hash, nrn_encrypted, nrn_masked, birth_year, sex, '
    'surname, given_names, email, language, organisation_id, department, active, search_key, '
    'created_at, updated_at) SELECT %(v_nrn_hash)s::VARCHAR AS anon_1, %(v_nrn_encrypted)s '
    'AS anon_2, %(v_nrn_masked)s::VARCHAR AS anon_3, %(v_birth_year)s::INTEGER AS anon_4, '
    '%(v_sex)s::VARCHAR AS anon_5, %(v_surname)s::VARCHAR AS anon_6, '
    '%(v_given_names)s::VARCHAR AS anon_7, %(v_email)s::VARCHAR AS anon_8, %(v_language)s AS '
    'anon_9, %(v_organisation_id)s::INTEGER AS anon_10, %(v_department)s::VARCHAR AS '
    'anon_11, %(v_active)s AS anon_12, %(v_search_key)s::VARCHAR AS anon_13, '
    '%(v_created_at)s::TIMESTAMP WITHOUT TIME ZONE AS anon_14, %(v_updated_at)s::TIMESTAMP '
    'WITHOUT TIME ZONE AS anon_15 \n'
    'WHERE NOT (EXISTS (SELECT * \n'
    'FROM collaborators AS known \n'
    'WHERE known.nrn_hash = %(v_nrn_hash)s::VARCHAR)) RETURNING collaborators.id'
)

# -- submit (core.services.requests.submit and notify_officers, through the ORM) ------------------

REQUEST_BY_EXTERNAL_ID = (
    'SELECT registration_requests.id, registration_requests.external_id, '
    'registration_requests.organisation_id, registration_requests.person, '
    'registration_requests.nrn_encrypted, registration_requests.wants, '
    'registration_requests.state, registration_requests.decided_by_id, '
    'registration_requests.decided_at, registration_requests.reason, '
    'registration_requests.created_at, organisations_1.id AS id_1, organisations_1.code, '
    'organisations_1.names, organisations_1.languages, organisations_1.slack_channel, '
    'organisations_1.auto_renew, officers_1.id AS id_2, officers_1.email, '
    'officers_1.given_names, officers_1.surname, officers_1.nrn_hash, officers_1.language, '
    'officers_1.valid_until, officers_1.roles, officers_1.created_at AS created_at_1 \n'
    'FROM registration_requests LEFT OUTER JOIN organisations AS organisations_1 ON '
    'organisations_1.id = registration_requests.organisation_id LEFT OUTER JOIN officers AS '
    'officers_1 ON officers_1.id = registration_requests.decided_by_id \n'
    'WHERE registration_requests.external_id = %(external_id_1)s::VARCHAR'
)
ORGANISATION_BY_CODE = (
    'SELECT organisations.id, organisations.code, organisations.names, '
    'organisations.languages, organisations.slack_channel, organisations.auto_renew \n'
    'FROM organisations \n'
    'WHERE organisations.code = %(code_1)s::VARCHAR'
)
INSERT_REQUEST = (
    'INSERT INTO registration_requests (external_id, organisation_id, person, nrn_encrypted, '
    'wants, state, decided_by_id, decided_at, reason, created_at) VALUES '
    '(%(external_id)s::VARCHAR, %(organisation_id)s::INTEGER, %(person)s::JSON, '
    '%(nrn_encrypted)s, %(wants)s::JSON, %(state)s, %(decided_by_id)s::INTEGER, '
    '%(decided_at)s::TIMESTAMP WITHOUT TIME ZONE, %(reason)s::VARCHAR, '
    '%(created_at)s::TIMESTAMP WITHOUT TIME ZONE) RETURNING registration_requests.id'
)
INSERT_AUDIT_RETURNING = (
    'INSERT INTO audit_events (at, officer_id, actor, action, subject_type, subject_id, '
    'details) VALUES (%(at)s::TIMESTAMP WITHOUT TIME ZONE, %(officer_id)s::INTEGER, '
    '%(actor)s::VARCHAR, %(action)s::VARCHAR, %(subject_type)s::VARCHAR, '
    '%(subject_id)s::INTEGER, %(details)s::JSON) RETURNING audit_events.id'
)
TRAINING_BY_CODE = (
    'SELECT trainings.id, trainings.code, trainings.titles, trainings.kind, '
    'trainings.owner_organisation_id, organisations_1.id AS id_1, organisations_1.code AS '
    'code_1, organisations_1.names, organisations_1.languages, '
    'organisations_1.slack_channel, organisations_1.auto_renew \n'
    'FROM trainings LEFT OUTER JOIN organisations AS organisations_1 ON organisations_1.id = '
    'trainings.owner_organisation_id \n'
    'WHERE trainings.code = %(code_2)s::VARCHAR'
)
SESSION_BY_TRAINING_AND_START = (
    'SELECT training_sessions.id, training_sessions.training_id, '
    'training_sessions.starts_on, training_sessions.ends_on, training_sessions.place, '
    'training_sessions.capacity, training_sessions.cancelled, training_sessions.seats_taken, '
    'organisations_1.id AS id_1, organisations_1.code, organisations_1.names, '
    'organisations_1.languages, organisations_1.slack_channel, organisations_1.auto_renew, '
    'trainings_1.id AS id_2, trainings_1.code AS code_1, trainings_1.titles, '
    'trainings_1.kind, trainings_1.owner_organisation_id \n'
    'FROM training_sessions LEFT OUTER JOIN trainings AS trainings_1 ON trainings_1.id = '
    'training_sessions.training_id LEFT OUTER JOIN organisations AS organisations_1 ON '
    'organisations_1.id = trainings_1.owner_organisation_id \n'
    'WHERE training_sessions.training_id = %(training_id_1)s::INTEGER AND '
    'training_sessions.starts_on = %(starts_on_1)s::DATE'
)
RECIPIENTS = (
    'SELECT officers.id, officers.email, officers.language, officers.given_names, '
    'officers.surname, chat_identities.platform, chat_identities.workspace, '
    'chat_identities.user_ref \n'
    'FROM officers JOIN officer_organisations ON officer_organisations.officer_id = '
    'officers.id LEFT OUTER JOIN chat_identities ON chat_identities.officer_id = officers.id '
    '\n'
    'WHERE officer_organisations.organisation_id = %(org)s::INTEGER AND officers.valid_until '
    '>= %(today)s::DATE ORDER BY officers.id, chat_identities.id'
)
INSERT_OUTBOX_RETURNING = (
    'INSERT INTO outbox_messages (channel, to_address, language, template, subject, context, '
    'message_id, state, attempts, next_attempt_at, last_error, created_at, sent_at) VALUES '
    '(%(channel)s::VARCHAR, %(to_address)s::VARCHAR, %(language)s, %(template)s::VARCHAR, '
    '%(subject)s::VARCHAR, %(context)s::JSON, %(message_id)s::VARCHAR, %(state)s, '
    '%(attempts)s::INTEGER, %(next_attempt_at)s::TIMESTAMP WITHOUT TIME ZONE, '
    '%(last_error)s::VARCHAR, %(created_at)s::TIMESTAMP WITHOUT TIME ZONE, '
    '%(sent_at)s::TIMESTAMP WITHOUT TIME ZONE) RETURNING outbox_messages.id'
)
INSERT_REPLY_TOKEN = (
    'INSERT INTO reply_tokens (token_hash, officer_id, request_id, kind, access_request_id, '
    'created_at, expires_at, used_at) VALUES (%(token_hash)s::VARCHAR, '
    '%(officer_id)s::INTEGER, %(request_id)s::INTEGER, %(kind)s::VARCHAR, '
    '%(access_request_id)s::INTEGER, %(created_at)s::TIMESTAMP WITHOUT TIME ZONE, '
    '%(expires_at)s::TIMESTAMP WITHOUT TIME ZONE, %(used_at)s::TIMESTAMP WITHOUT TIME ZONE)'
)
TEAMS_CHANNELS = (
    'SELECT teams_conversations.tenant_id, teams_conversations.conversation_id \n'
    'FROM teams_conversations \n'
    'WHERE teams_conversations.organisation_id = %(organisation_id_1)s::INTEGER AND '
    'teams_conversations.kind = %(kind_1)s::VARCHAR'
)
