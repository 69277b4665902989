//! Ticket templates: what staff, teachers and monitoring actually bring to the desk.
//!
//! A template fixes the kind, category and workflow; each variant keeps a title, a description
//! and the final answer together so that the three always tell the same story. `{name}`-style
//! placeholders are filled per ticket (see `plan::Vars`).

use entity::{Channel as Ch, Impact as I, Priority as P, Severity as S, TicketKind as K};

/// How a ticket moves through the workflow.
#[derive(Clone, Copy, Debug)]
pub(super) enum Script {
    /// Answered at once on the phone or in chat.
    Quick,
    /// Work done by the desk, possibly after asking the requester something.
    Request,
    /// A failure: triage, perhaps escalation, failure report.
    Incident { vendor: Option<&'static str> },
    /// A monitoring alert without a requester.
    Alert { vendor: Option<&'static str> },
    /// セキュリティインシデント with its register entries and report stages.
    Security { vendor: Option<&'static str> },
    /// A broken terminal: spare device, 損傷始末書, vendor repair.
    Repair { vendor: &'static str },
    /// 課題管理: a recurring issue worked over weeks.
    Problem { vendor: Option<&'static str> },
    /// 作業計画書: approved by the desk's owner, carried out by a vendor on a set date.
    Change { vendor: &'static str },
    /// 切り分け: another system's matter; the variant's `extra` names the system and its owner.
    OutOfScope,
}

/// Who brings the ticket.
#[derive(Clone, Copy, Debug)]
pub(super) enum Pool {
    /// Any staff member or teacher (not students).
    Any,
    /// Requesters of these units.
    Units(&'static [&'static str]),
    /// Teachers and school office staff.
    Schools,
    /// Students, who open tickets themselves on the web.
    Students,
    /// Nobody: monitoring alerts, problems and work plans.
    Nobody,
}

/// Title, description and the answer that closes it, told as one story.
pub(super) struct Variant {
    pub title: &'static str,
    pub description: &'static str,
    pub answer: &'static str,
    /// Incidents: cause, interim measure, recovery outlook, recurrence prevention.
    /// Security: event, interim action, permanent action. Out of scope: system, owner.
    pub extra: &'static [&'static str],
}

const fn v(title: &'static str, description: &'static str, answer: &'static str) -> Variant {
    Variant {
        title,
        description,
        answer,
        extra: &[],
    }
}

const fn vx(
    title: &'static str,
    description: &'static str,
    answer: &'static str,
    extra: &'static [&'static str],
) -> Variant {
    Variant {
        title,
        description,
        answer,
        extra,
    }
}

/// A kind of ticket the desk sees.
pub(super) struct Tpl {
    pub key: &'static str,
    /// Relative frequency among random tickets; 0 for featured-only templates.
    pub weight: u32,
    pub kind: K,
    pub category: &'static str,
    pub script: Script,
    pub pool: Pool,
    pub channels: &'static [(Ch, u32)],
    pub priorities: &'static [(P, u32)],
    /// 障害レベル and 業務影響範囲; empty for kinds that have none.
    pub levels: &'static [(S, I)],
    pub variants: &'static [Variant],
    /// A question the desk asks and the requester's answer.
    pub asks: &'static [(&'static str, &'static str)],
    /// Internal notes (一次切り分け and the like).
    pub notes: &'static [&'static str],
    pub vendor_acks: &'static [&'static str],
    pub vendor_fixes: &'static [&'static str],
}

const BASE: Tpl = Tpl {
    key: "",
    weight: 0,
    kind: K::Inquiry,
    category: "other",
    script: Script::Quick,
    pool: Pool::Any,
    channels: PHONE,
    priorities: NORMAL,
    levels: &[],
    variants: &[],
    asks: &[],
    notes: &[],
    vendor_acks: &[],
    vendor_fixes: &[],
};

const PHONE: &[(Ch, u32)] = &[(Ch::Phone, 1)];
const PHONE_TEAMS: &[(Ch, u32)] = &[(Ch::Phone, 6), (Ch::Teams, 3), (Ch::Email, 1)];
const PHONE_LINE: &[(Ch, u32)] = &[(Ch::Phone, 6), (Ch::Line, 3), (Ch::Email, 1)];
const MAIL_WEB: &[(Ch, u32)] = &[(Ch::Email, 5), (Ch::Web, 3), (Ch::Phone, 1)];
const MONITORING: &[(Ch, u32)] = &[(Ch::Monitoring, 1)];
const NORMAL: &[(P, u32)] = &[(P::Normal, 8), (P::Low, 2)];
const RAISED: &[(P, u32)] = &[(P::Normal, 5), (P::High, 3)];
const HIGH: &[(P, u32)] = &[(P::High, 4), (P::Normal, 1)];
const URGENT: &[(P, u32)] = &[(P::Urgent, 1)];

/// Generic texts used when a template has none of its own.
pub(super) const GENERIC_ASKS: &[(&str, &str)] = &[
    (
        "確認のため、エラーメッセージの画面を撮影（スクリーンショット）してメールでお送りいただけますでしょうか。",
        "スクリーンショットをメールで送付しました。よろしくお願いします。",
    ),
    (
        "恐れ入りますが、ご利用の端末名（本体のシールに記載の番号）と内線番号をお知らせください。",
        "端末名は {pc}、内線は {ext} です。",
    ),
];
pub(super) const REQUEST_NOTES: &[&str] = &[
    "申請内容と所属長承認を確認。手順書に沿って作業に着手する。",
    "申請書を受領し、申請台帳に記録した。",
    "過去の同様の依頼（ナレッジ参照）と同じ手順で対応する。",
];
pub(super) const INCIDENT_NOTES: &[&str] = &[
    "一次切り分け: 端末側の問題ではない。",
    "一次切り分け: 同じ所属の別の端末でも同じ事象を確認。",
    "一次切り分け: ケーブル・電源の接続は問題なし。再起動でも改善せず。",
    "過去の対応履歴に同様の事象あり（ナレッジ参照）。手順に沿って確認する。",
];
pub(super) const ALERT_NOTES: &[&str] = &[
    "監視画面で状況を確認。現時点で業務への影響は確認されていない。",
    "夜間の発報を受け、開庁時に状況を確認した。アラートは継続中。",
    "監視画面で確認。同時刻に他の機器のアラートは出ていない。",
];
pub(super) const VENDOR_ACKS: &[&str] = &[
    "{vendor}の{vname}です。事象を確認しました。ログを調査のうえ、改めてご連絡いたします。",
    "{vendor} {vname}です。受け付けました。本日中に一次回答いたします。",
    "{vname}（{vendor}）です。状況を確認しました。現地確認の要否を含めて調査いたします。",
];
pub(super) const VENDOR_FIXES: &[&str] = &[
    "{vendor}の{vname}です。調査の結果、原因を特定し対処いたしました。現在は正常に動作していることを確認しております。詳細は障害報告書にてご報告いたします。",
    "{vname}です。対応が完了しました。念のため本日中は監視を強化いたします。",
    "{vendor} {vname}です。部品交換が完了し、動作確認を行いました。",
];
pub(super) const ESCALATION_NOTES: &[&str] = &[
    "一次切り分けの結果、{vendor}の対応範囲と判断しエスカレーションします。",
    "事象の詳細とログを添えて{vendor}へ調査を依頼しました。",
    "手順書で対応できない事象のため、{vendor}へ二次対応を依頼します。",
];
pub(super) const GENERIC_REPORT: &[&str] = &[
    "機器の一時的な不具合",
    "再起動により暫定復旧",
    "当日中に復旧済み",
    "同様の事象が再発した場合は機器交換を検討する",
];

/// さくら市 (DX戦略課ヘルプデスク).
pub(super) static CITY: &[Tpl] = &[
    Tpl {
        key: "pw-reset",
        weight: 16,
        kind: K::ServiceRequest,
        category: "account.password-reset",
        channels: PHONE_TEAMS,
        variants: &[
            v(
                "パスワード初期化依頼",
                "{unit}の{name}様より入電。パスワードを複数回誤入力し、アカウントがロックされたとのこと。職員番号と内線番号（{ext}）で本人確認済み。",
                "本人確認のうえパスワードを初期化しました。初期パスワードでログイン後、新しいパスワードへ変更してください。",
            ),
            v(
                "LGWAN系端末にログインできない（パスワード失念）",
                "{unit}の{name}様。長期休暇明けでパスワードを失念し、LGWAN系端末にログインできない。本人確認（職員番号・内線{ext}）済み。",
                "パスワードを初期化しました。ログインできることを電話口で確認しています。",
            ),
            v(
                "アカウントロック解除依頼",
                "{unit}の{name}様より。パスワード変更直後に旧パスワードで何度かログインを試み、ロックされた。",
                "アカウントロックを解除しました。新しいパスワードでログインできることを確認済みです。",
            ),
            v(
                "パスワード有効期限切れでログインできない",
                "{unit}の{name}様。パスワード有効期限切れの通知後、変更画面で「パスワードの要件を満たしていません」と表示されログインできない。",
                "パスワードの要件（12文字以上、英大文字・小文字・数字を含む）をご案内し、初期化後に再設定いただきました。",
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "mfa",
        weight: 3,
        kind: K::ServiceRequest,
        category: "account.mfa",
        variants: &[
            v(
                "顔認証の再登録依頼",
                "{unit}の{name}様。眼鏡を替えてから端末ログイン時の顔認証が通らない。",
                "顔認証情報を初期化しました。次回ログイン時に再登録の画面が表示されますので、案内に沿って登録してください。",
            ),
            v(
                "顔認証が通らずログインできない（マスク着用）",
                "{unit}の{name}様。マスク着用時に顔認証が失敗し、代わりのPINも失念。",
                "顔認証情報とPINを初期化しました。再登録はマスクを外した状態で行ってください。",
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "account-new",
        weight: 4,
        kind: K::ServiceRequest,
        category: "account.lifecycle",
        script: Script::Request,
        channels: MAIL_WEB,
        variants: &[
            v(
                "会計年度任用職員のアカウント作成依頼（{n}名）",
                "{unit}より、{date}採用予定の会計年度任用職員{n}名分のアカウント作成依頼。所属長承認済みの利用申請書をメールで受領。",
                "{n}名分のアカウントを作成し、LGWAN系・インターネット接続系の利用設定を行いました。初期パスワードは所属長宛に封書でお届けします。",
            ),
            v(
                "人事異動に伴うアカウントの所属変更依頼",
                "{unit}の{name}様より、{date}付の異動者について統合認証系ID管理システムの所属変更依頼。",
                "ID管理システムの所属情報を変更し、共有フォルダとメール配布リストの権限を新しい所属へ切り替えました。",
            ),
            v(
                "兼務発令に伴うメール・共有フォルダ設定依頼",
                "{unit}の{name}様より、{date}付で兼務となる職員について、兼務先の共有フォルダの参照権限とメール配布リストへの追加を依頼。",
                "兼務先の共有フォルダへのアクセス権とメール配布リストへの追加を設定しました。兼務解除の際はご連絡ください。",
            ),
            v(
                "退職者アカウントの削除依頼（{n}名）",
                "{unit}より、{date}付退職者{n}名のアカウント削除依頼。",
                "{n}名分のアカウントを無効化しました。メールボックスは規定により30日間保持した後に削除します。",
            ),
        ],
        asks: &[
            (
                "申請書に利用開始日の記載がありません。利用開始日をお知らせいただけますでしょうか。",
                "利用開始日は{date}です。お手数をおかけします。",
            ),
            (
                "対象者の職員番号が申請書に記載されていません。お知らせいただけますでしょうか。",
                "職員番号を記入した申請書を再送しました。",
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "teams",
        weight: 6,
        category: "m365.teams",
        channels: PHONE_TEAMS,
        variants: &[
            v(
                "Teamsにサインインできない",
                "{unit}の{name}様。Teamsを起動すると「問題が発生しました」と表示されサインインできない。ブラウザ版は利用できる。",
                "Teamsのキャッシュを削除する手順をご案内し、サインインできることを確認しました。",
            ),
            v(
                "Teams会議で相手の音声が聞こえない",
                "{unit}の{name}様。Teams会議に参加すると相手の声が聞こえない。ヘッドセットは接続済み。",
                "Teamsのデバイス設定でスピーカーがヘッドセットになっていなかったため、設定の変更をご案内しました。",
            ),
            v(
                "Teams会議の録画の保存先について",
                "{unit}の{name}様より、Teams会議の録画がどこに保存されるかの問い合わせ。",
                "会議の録画は開催者のOneDrive（「録画」フォルダ）に保存される旨と、共有の方法をご案内しました。",
            ),
            v(
                "Teamsのチームに外部の方を招待したい",
                "{unit}の{name}様。委託事業者をチームにゲストとして招待したいが、招待の操作ができない。",
                "ゲスト招待にはDX戦略課への申請が必要なため、申請様式をご案内しました。",
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "teams-mfa",
        weight: 0,
        category: "m365.teams",
        channels: &[(Ch::Phone, 3), (Ch::Teams, 2)],
        variants: &[
            v(
                "Teamsにサインインできない（多要素認証）",
                "{unit}の{name}様。多要素認証の設定変更後、Teamsのサインインで認証アプリの通知が届かずサインインできない。",
                "認証アプリの再登録手順（FAQ「多要素認証の再設定」）をご案内し、サインインできることを確認しました。",
            ),
            v(
                "スマートフォンの認証アプリでサインインできない",
                "{unit}の{name}様。機種変更後、Microsoft 365のサインインで認証アプリの番号入力が求められるが通知が来ない。",
                "旧端末の認証方法を削除し、新しいスマートフォンで認証アプリを登録いただきました。",
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "mail",
        weight: 5,
        category: "m365.mail",
        channels: PHONE_TEAMS,
        variants: &[
            v(
                "メールボックスの容量がいっぱいと表示される",
                "{unit}の{name}様。Outlookで「メールボックスがいっぱいです」と表示され、送信できない。",
                "不要なメールの削除とオンラインアーカイブへの移動手順をご案内し、送信できることを確認しました。",
            ),
            v(
                "共有メールボックスがOutlookに表示されない",
                "{unit}の{name}様。異動後、{unit}の共有メールボックスがOutlookに表示されない。",
                "共有メールボックスのアクセス権を確認し、Outlookの再起動で表示されることを確認しました。",
            ),
            v(
                "添付ファイルが送信できない（容量制限）",
                "{unit}の{name}様。20MBのPDFを添付して送信しようとしたところエラーになった。",
                "添付ファイルの上限（10MB）をご案内し、ファイル共有サービスでの送付方法をご説明しました。",
            ),
            v(
                "メールの誤送信を取り消したい",
                "{unit}の{name}様。宛先を誤ってメールを送信してしまった。取り消しはできるか。",
                "送信済みメールは取り消せない旨をご案内し、誤送信時の報告手順（所属長への報告・相手方への削除依頼）をお伝えしました。",
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "office",
        weight: 5,
        category: "other",
        channels: PHONE_TEAMS,
        variants: &[
            v(
                "Excelのマクロが実行できない",
                "{unit}の{name}様。他課から受け取ったExcelファイルのマクロが「セキュリティリスク」と表示され実行できない。",
                "インターネット経由で取得したファイルのためブロックされていました。提供元を確認のうえ、ファイルのプロパティで許可する手順をご案内しました。",
            ),
            v(
                "PDFに電子印を押したい",
                "{unit}の{name}様。PDF編集ソフトで電子印を押す方法を知りたい。",
                "PDF編集ソフトのスタンプ機能の手順をご案内しました（FAQ掲載済み）。",
            ),
            v(
                "画面の文字が小さくて見づらい",
                "{unit}の{name}様。端末の入れ替え後、画面の文字が小さくて見づらい。",
                "ディスプレイ設定の拡大率を125%に変更する手順をご案内しました。",
            ),
            v(
                "Windows Updateの再起動を求められる",
                "{unit}の{name}様。「更新プログラムをインストールするため再起動が必要です」と表示される。業務中に再起動してよいか。",
                "作業の区切りで再起動していただいて問題ない旨と、再起動の時刻を指定する方法をご案内しました。",
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "resident-inq",
        weight: 3,
        category: "biz.resident",
        pool: Pool::Units(&["030100", "030200", "030900", "030910"]),
        variants: &[
            v(
                "住民記録システムの証明書発行画面の操作について",
                "{unit}の{name}様。住民票の写しの発行画面で、本籍・筆頭者の記載有無の切り替え方法が分からない。",
                "発行画面の「記載事項」タブでの切り替え手順をご案内しました。操作マニュアル42ページにも記載があります。",
            ),
            v(
                "住民記録システムのログイン画面が表示されない",
                "{unit}の{name}様。住民記録システムのアイコンをクリックしても画面が表示されない。",
                "住民情報系端末のブラウザのキャッシュ削除手順をご案内し、ログイン画面が表示されることを確認しました。",
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "finance-inq",
        weight: 3,
        category: "biz.finance",
        channels: PHONE_TEAMS,
        variants: &[
            v(
                "財務会計システムで支出負担行為が起票できない",
                "{unit}の{name}様。財務会計システムで支出負担行為を起票しようとすると「予算残額不足」と表示される。",
                "予算の配当が未反映のため、財政課へ配当状況を確認いただくようご案内しました。",
            ),
            v(
                "財務会計システムの帳票が出力されない",
                "{unit}の{name}様。支出命令書の印刷ボタンを押しても帳票が表示されない。",
                "ポップアップブロックにより帳票画面が開かなかったため、ブラウザの設定変更をご案内しました。",
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "document-inq",
        weight: 3,
        category: "biz.document",
        channels: PHONE_TEAMS,
        variants: &[
            v(
                "文書管理システムで決裁ルートが設定できない",
                "{unit}の{name}様。文書管理システムで起案時に決裁ルートへ課長を追加できない。",
                "人事異動後の職員情報の反映前だったため、決裁者を検索して手動で追加する手順をご案内しました。",
            ),
            v(
                "文書管理システムの起案を引き戻したい",
                "{unit}の{name}様。誤って決裁に回した文書を取り消したい。",
                "決裁前の文書は「引戻し」ボタンで取り消せる旨をご案内しました。",
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "wifi-inq",
        weight: 3,
        category: "network.wifi",
        variants: &[
            v(
                "会議室で庁内Wi-Fiに接続できない",
                "{unit}の{name}様。{floor}階会議室でノートPCが庁内Wi-Fiに接続できない。",
                "接続先（SSID）が誤っていたため、正しい接続先への切り替えをご案内しました。",
            ),
            v(
                "現場調査用タブレットを庁内Wi-Fiにつなぎたい",
                "{unit}の{name}様。現場調査用タブレットを庁内Wi-Fiに接続したい。",
                "庁内Wi-FiにはMACアドレスの登録（RADIUS）が必要なため、端末登録申請の様式をご案内しました。",
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "unblock",
        weight: 7,
        kind: K::ServiceRequest,
        category: "network.web-unblock",
        script: Script::Request,
        channels: &[(Ch::Email, 5), (Ch::Web, 3), (Ch::Teams, 1), (Ch::Fax, 1)],
        variants: &[
            v(
                "Webサイト閲覧解除申請（{site}）",
                "{unit}の{name}様より、業務で参照する {url}（{site}）がWebフィルタリングにより閲覧できないため、閲覧解除を申請。所属長承認済み。",
                "{url} の閲覧解除を設定しました。ブラウザを再起動のうえご確認ください。",
            ),
            v(
                "業務で必要なサイトが「ブロックされました」と表示される",
                "{unit}の{name}様。{url}（{site}）を開くとフィルタリングの警告画面が表示される。",
                "カテゴリ判定の誤りによるブロックでした。閲覧解除を設定し、表示できることを確認いただきました。",
            ),
        ],
        asks: &[(
            "閲覧解除には所属長の承認が必要です。承認済みの申請書をお送りいただけますでしょうか。",
            "所属長の承認印を押した申請書をスキャンしてメールで送付しました。",
        )],
        notes: &[
            "Webフィルタのカテゴリ判定を確認。業務上の必要性と所属長承認を確認済み。",
            "同一ドメインの閲覧解除実績あり（ナレッジ参照）。解除設定を実施する。",
        ],
        ..BASE
    },
    Tpl {
        key: "share",
        weight: 4,
        kind: K::ServiceRequest,
        category: "network.share",
        script: Script::Request,
        channels: MAIL_WEB,
        variants: &[
            v(
                r"共有フォルダのアクセス権変更依頼（\\fs01\share\{unit}）",
                r"{unit}の{name}様より、\\fs01\share\{unit}\契約関係 フォルダの閲覧権限を担当者{n}名に付与してほしいとの依頼。",
                "アクセス権を設定しました。エクスプローラーを開き直してご確認ください。",
            ),
            v(
                r"共有フォルダのファイルを誤って上書きした（\\fs01\share）",
                r"{unit}の{name}様。\\fs01\share\{unit} のExcelファイルを誤って上書き保存した。前日の状態に戻したい。",
                "前日のスナップショットからファイルを復元し、同じフォルダに「_復元」を付けて配置しました。",
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "toner",
        weight: 7,
        kind: K::ServiceRequest,
        category: "printer.toner",
        channels: PHONE_TEAMS,
        variants: &[
            v(
                "複合機のトナー交換（{mfp}）",
                "{unit}の{name}様。{floor}階の {mfp} でブラックトナーが切れた。",
                "トナー（ブラック）を払い出し、{unit}へお届けしました。使用済みトナーは回収箱へお願いします。",
            ),
            v(
                "トナー払い出し依頼（カラー・{mfp}）",
                "{unit}の{name}様より、{mfp} のシアン・マゼンタのトナー払い出し依頼。",
                "在庫から払い出しました。受領書へのサインをお願いします。",
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "peripheral",
        weight: 4,
        kind: K::ServiceRequest,
        category: "device.peripheral",
        script: Script::Request,
        channels: &[(Ch::Phone, 4), (Ch::Teams, 2), (Ch::Web, 2)],
        variants: &[
            v(
                "マウスが反応しない・交換依頼",
                "{unit}の{name}様。有線マウスのカーソルが動かない。別のUSBポートに挿しても同じ。",
                "予備のマウスと交換しました。故障品は回収しています。",
            ),
            v(
                "外付けモニターの貸出依頼",
                "{unit}の{name}様より、予算資料の作成のため外付けモニターを1台借りたいとの依頼。",
                "外付けモニターを貸し出しました（返却予定日: {date}）。",
            ),
            v(
                "Web会議用ヘッドセットの払い出し依頼（{n}台）",
                "{unit}の{name}様より、Web会議用ヘッドセットを{n}台払い出してほしいとの依頼。",
                "ヘッドセット{n}台を払い出しました。",
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "loaner",
        weight: 2,
        kind: K::ServiceRequest,
        category: "device.loaner",
        script: Script::Request,
        channels: MAIL_WEB,
        variants: &[v(
            "出張用ノートPCとモバイルWi-Fiルータの貸出依頼",
            "{unit}の{name}様より、{date}からの出張でノートPCとモバイルWi-Fiルータを借りたいとの依頼。",
            "貸出用ノートPCとモバイルWi-Fiルータを準備し、貸出台帳に記録しました（返却予定日: {date}の翌営業日）。",
        )],
        ..BASE
    },
    Tpl {
        key: "usb",
        weight: 3,
        kind: K::ServiceRequest,
        category: "security.usb",
        script: Script::Request,
        channels: MAIL_WEB,
        variants: &[
            v(
                "SKYSEA USBデバイス登録申請（暗号化USBメモリ{n}本）",
                "{unit}の{name}様より、新たに購入した暗号化USBメモリ{n}本をSKYSEA Client Viewに登録してほしいとの申請。",
                "SKYSEA Client Viewにデバイスを登録しました。{unit}の端末で読み書きできることを確認いただきました。",
            ),
            v(
                "USBメモリが使えない（SKYSEAで制御されている）",
                "{unit}の{name}様。USBメモリを挿すと「このデバイスは使用が許可されていません」と表示される。",
                "未登録のUSBメモリでした。登録申請の手順をご案内し、申請後に登録を完了しました。",
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "pc-damage",
        weight: 2,
        kind: K::Incident,
        category: "device.repair",
        script: Script::Repair { vendor: "ops" },
        levels: &[(S::Level4, I::Individual)],
        variants: &[vx(
            "ノートPCの画面が割れた（{pc}）",
            "{unit}の{name}様。{pc} を落下させ画面が割れた。起動はするが表示が読めない。",
            "修理が完了した端末を返却し、代替機を回収しました。",
            &[
                "落下による液晶パネルの破損",
                "代替機へ交換しデータを移行",
                "修理完了後に返却済み",
                "持ち運び時はケースに入れるよう所属へ周知する",
            ],
        )],
        asks: &[(
            "代替機を手配します。あわせて、破損の経緯を記載した損傷始末書（所属長確認済み）の提出をお願いします。",
            "損傷始末書を所属長の確認後にメールで提出しました。代替機も受け取りました。",
        )],
        vendor_acks: &[
            "{vendor}の{vname}です。修理品を回収しました。メーカー修理の見積もり後にご連絡します。",
        ],
        vendor_fixes: &[
            "{vendor}の{vname}です。修理が完了しました。液晶パネル交換済みの端末を返却します。",
        ],
        ..BASE
    },
    Tpl {
        key: "pc-fail",
        weight: 4,
        kind: K::Incident,
        category: "device.repair",
        script: Script::Incident {
            vendor: Some("ops"),
        },
        levels: &[(S::Level4, I::Individual), (S::Level3, I::Individual)],
        variants: &[
            vx(
                "PCが起動しない（{pc}）",
                "{unit}の{name}様。{pc} の電源ボタンを押しても起動しない。ランプも点灯しない。",
                "代替機に交換し、業務を再開いただきました。故障機は修理に出しています。",
                &[
                    "電源ユニットの故障",
                    "代替機を貸し出して業務を継続",
                    "代替機で業務再開済み。故障機は修理後に予備機とする",
                    "同一ロットの端末の稼働状況を確認し、予防交換を検討する",
                ],
            ),
            vx(
                "PCの動作が極端に遅い（{pc}）",
                "{unit}の{name}様。{pc} でログイン後の動作が極端に遅く、ファイルを開くのに数分かかる。",
                "ディスクの不良セクタが原因でした。代替機へ交換し、データを移行しました。",
                &[
                    "SSDの経年劣化による不良セクタ",
                    "代替機へ交換しデータを移行",
                    "当日中に代替機で業務再開",
                    "リース更新計画で同型機の優先更新を提案する",
                ],
            ),
            vx(
                "ブルースクリーンが繰り返し発生する（{pc}）",
                "{unit}の{name}様。{pc} で作業中に青い画面が表示され再起動する事象が1日に数回発生。",
                "メモリ故障のため部品交換を実施しました。以後、事象は発生していません。",
                &[
                    "メモリモジュールの故障",
                    "代替機を貸し出し業務を継続",
                    "部品交換により翌日に復旧",
                    "同一ロット端末の稼働状況を監視し、予防交換を検討する",
                ],
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "slow-resident",
        weight: 2,
        kind: K::Incident,
        category: "biz.resident",
        script: Script::Incident {
            vendor: Some("kikan"),
        },
        pool: Pool::Units(&["030100", "030200", "030900", "030910"]),
        priorities: HIGH,
        levels: &[(S::Level2, I::MultipleUnits)],
        variants: &[
            vx(
                "住民記録システムが遅い（窓口で発行待ちが発生）",
                "{unit}の{name}様より入電。10時頃から住民記録システムの検索・証明発行の応答が遅く、窓口で待ちが発生している。他の所属でも同様との情報あり。",
                "基幹系システム事業者にてデータベースの処理遅延を解消し、応答時間が通常に戻ったことを確認しました。",
                &[
                    "夜間バッチの遅延により、日中にデータベースの統計情報更新が重なったため",
                    "統計情報更新ジョブを停止し応答を回復",
                    "当日11時30分に復旧",
                    "統計情報更新ジョブの起動条件を夜間バッチ完了後に変更する",
                ],
            ),
            vx(
                "住民記録システムで検索結果が表示されない",
                "{unit}の{name}様。カナ氏名で検索すると処理中のまま結果が表示されない。",
                "事業者にて検索処理の不具合を修正しました。検索結果が表示されることを確認いただきました。",
                &[
                    "検索用インデックスの断片化による応答遅延",
                    "インデックスを再構築",
                    "同日中に復旧済み",
                    "インデックス再構築を月次の定期作業に追加する",
                ],
            ),
        ],
        notes: &[
            "一次切り分け: 端末側の問題ではない。複数の所属で同じ事象を確認したため基幹系システム事業者へエスカレーションする。",
            "一次切り分け: 住民情報系ネットワークの疎通は正常。アプリケーション側の遅延と判断。",
        ],
        ..BASE
    },
    Tpl {
        key: "resident-down",
        weight: 0,
        kind: K::Incident,
        category: "biz.resident",
        script: Script::Incident {
            vendor: Some("kikan"),
        },
        priorities: URGENT,
        levels: &[(S::Level1, I::Organization)],
        variants: &[vx(
            "住民記録システムが全端末で利用できない",
            "市民課より入電。8時30分の開庁直後から住民記録システムにログインできない。北部・南部市民センターでも同様で、窓口業務が停止している。",
            "基幹系システム事業者にて待機系サーバへ切り替え、全端末で業務を再開しました。",
            &[
                "アプリケーションサーバのOS更新後、自動起動するはずのサービスが起動しなかったため",
                "待機系サーバへ切り替えて業務を再開",
                "10時15分に全端末で復旧。本番系は同日夜間に修復",
                "OS更新後のサービス起動確認を作業手順に追加し、サービス稼働監視を監視項目に加える",
            ],
        )],
        notes: &[
            "一次切り分け: 端末側の問題ではない。全所属で発生しているため基幹系システム事業者へ緊急エスカレーション。DX戦略課へ第一報済み。",
        ],
        ..BASE
    },
    Tpl {
        key: "mail-down",
        weight: 0,
        kind: K::Incident,
        category: "m365.mail",
        script: Script::Incident {
            vendor: Some("ops"),
        },
        priorities: URGENT,
        levels: &[(S::Level1, I::Organization)],
        variants: &[vx(
            "メールの送受信ができない（全庁）",
            "{unit}の{name}様ほか複数の所属から、9時頃よりメールの送受信ができないとの入電が相次いでいる。Outlookで「サーバーに接続できません」と表示される。",
            "統合運用管理補助事業者にてメール中継サーバのサービスを復旧し、全庁で送受信できることを確認しました。",
            &[
                "メール中継サーバの証明書更新作業に伴う設定不備",
                "旧証明書へ切り戻しを実施",
                "13時40分に全庁で復旧",
                "証明書更新の作業手順に切り替え後の疎通確認を追加し、作業計画書で事前承認を得る",
            ],
        )],
        ..BASE
    },
    Tpl {
        key: "tax-incident",
        weight: 2,
        kind: K::Incident,
        category: "biz.tax",
        script: Script::Incident {
            vendor: Some("kikan"),
        },
        pool: Pool::Units(&["020300"]),
        priorities: RAISED,
        levels: &[(S::Level3, I::SingleUnit)],
        variants: &[
            vx(
                "税務システムで課税台帳が印刷できない",
                "{unit}の{name}様。課税台帳の一括印刷でエラー（帳票サーバ接続エラー）が発生する。",
                "帳票サーバのサービスを再起動し、印刷できることを確認しました。",
                &[
                    "帳票サーバの印刷サービスのメモリ枯渇",
                    "サービスを再起動して印刷を再開",
                    "同日中に復旧",
                    "サービスの定期再起動を夜間ジョブに追加する",
                ],
            ),
            vx(
                "住民税の一括計算処理がエラーで止まる",
                "{unit}の{name}様。住民税の一括計算処理が途中でエラー終了した。",
                "事業者にてデータを補正し、再処理が正常終了したことを確認しました。",
                &[
                    "異動連携データに不正な文字コードが含まれていたため",
                    "該当データを補正して再処理",
                    "翌日午前に処理完了",
                    "連携前の文字コードチェックを追加する",
                ],
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "network-down",
        weight: 3,
        kind: K::Incident,
        category: "network.down",
        script: Script::Incident {
            vendor: Some("network"),
        },
        priorities: HIGH,
        levels: &[(S::Level2, I::SingleUnit), (S::Level3, I::SingleUnit)],
        variants: &[
            vx(
                "{floor}階の一部でネットワークに接続できない",
                "{unit}の{name}様。{floor}階の{unit}の島で、PCがネットワークに接続できない（「インターネットなし」と表示）。",
                "ネットワーク保守事業者がフロアスイッチを交換し、全端末の接続を確認しました。",
                &[
                    "フロアスイッチの電源ユニット故障",
                    "予備スイッチへ仮接続して業務を再開",
                    "同日中に機器交換を完了",
                    "保守期限の近いスイッチを計画的に更新するよう提案する",
                ],
            ),
            vx(
                "内線電話が不通（{unit}）",
                "{unit}の{name}様。{unit}の内線電話{n}台が発信・着信ともにできない。",
                "VoIP機器用のPoEスイッチを交換し、内線の発着信を確認しました。",
                &[
                    "PoEスイッチの故障",
                    "隣の島の電話機を一時的に共用",
                    "翌日午前に機器交換を完了",
                    "PoEスイッチの予備機を庁内に常備する",
                ],
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "center-down",
        weight: 1,
        kind: K::Incident,
        category: "network.down",
        script: Script::Incident {
            vendor: Some("network"),
        },
        pool: Pool::Units(&["030900", "030910"]),
        priorities: HIGH,
        levels: &[(S::Level2, I::SingleUnit)],
        variants: &[vx(
            "{unit}で業務システムに接続できない",
            "{unit}の{name}様。朝から{unit}の全端末で業務システムに接続できない。本庁との拠点間回線の障害が疑われる。",
            "拠点間回線の終端装置を交換し、全端末で業務システムに接続できることを確認しました。",
            &[
                "拠点間回線の終端装置（ONU）の故障",
                "本庁から住民票の写しを発行し窓口へ送付する運用で対応",
                "同日14時に復旧",
                "終端装置の予備機を確保し、交換手順を手順書に追加する",
            ],
        )],
        ..BASE
    },
    Tpl {
        key: "mfp-trouble",
        weight: 4,
        kind: K::Incident,
        category: "printer.trouble",
        script: Script::Incident {
            vendor: Some("mfp"),
        },
        channels: &[(Ch::Phone, 5), (Ch::Teams, 2), (Ch::Web, 2)],
        levels: &[(S::Level4, I::SingleUnit)],
        variants: &[
            vx(
                "複合機で紙詰まりエラーが解消しない（{mfp}）",
                "{unit}の{name}様。{mfp} で紙詰まり表示が消えず、印刷もコピーもできない。用紙は取り除いたとのこと。",
                "保守事業者が給紙ローラーを交換し、正常に印刷できることを確認しました。",
                &[
                    "給紙ローラーの摩耗",
                    "別フロアの複合機への出力を案内",
                    "当日中に部品交換で復旧",
                    "定期点検時に給紙ローラーの摩耗を確認項目に加える",
                ],
            ),
            vx(
                "複合機のスキャンがメールで届かない（{mfp}）",
                "{unit}の{name}様。{mfp} でスキャンしたデータがメールで届かない。",
                "複合機のメール送信設定を修正し、スキャンデータが届くことを確認しました。",
                &[
                    "メールサーバの証明書更新に複合機の設定が追随していなかったため",
                    "共有フォルダへのスキャン保存を案内",
                    "翌日に設定変更で復旧",
                    "証明書更新時の影響機器一覧に複合機を追加する",
                ],
            ),
            vx(
                "印刷すると黒い縦線が入る（{mfp}）",
                "{unit}の{name}様。{mfp} で印刷した書類に黒い縦線が入る。",
                "保守事業者がドラムユニットを交換しました。",
                &[
                    "ドラムユニットの劣化",
                    "別の複合機への出力を案内",
                    "翌日に部品交換で復旧",
                    "印刷枚数に応じた予防交換を保守事業者と取り決める",
                ],
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "alert",
        weight: 6,
        kind: K::Incident,
        category: "infra.monitoring",
        script: Script::Alert {
            vendor: Some("ops"),
        },
        pool: Pool::Nobody,
        channels: MONITORING,
        priorities: RAISED,
        levels: &[(S::Level3, I::MultipleUnits), (S::Level4, I::Organization)],
        variants: &[
            vx(
                "監視アラート: ファイルサーバ fs01 ディスク使用率{pct}%超",
                r"監視システムより通知。ファイルサーバ fs01 のデータ領域（\\fs01\share）の使用率が{pct}%を超過。",
                r"不要な一時ファイルの削除と各課への整理依頼により、\\fs01\share の使用率を75%まで下げました。容量拡張は作業計画を別途起票します。",
                &[
                    "年度途中の大容量ファイル（動画・図面）の保存増加",
                    "一時ファイルの削除と各課へのファイル整理依頼",
                    "当日中に閾値未満へ回復",
                    "容量拡張の作業計画を起票し、使用率の推移を月次報告に含める",
                ],
            ),
            vx(
                "監視アラート: バックアップジョブ失敗（BK-JOB-{n}）",
                "監視システムより通知。夜間バックアップジョブ BK-JOB-{n} が異常終了（テープ装置応答なし）。",
                "統合運用管理補助事業者にてテープ装置をリセットし、バックアップを再実行して正常終了を確認しました。",
                &[
                    "テープ装置のドライブエラー",
                    "テープ装置をリセットしバックアップを再実行",
                    "同日中に再実行が正常終了",
                    "クリーニングテープの交換周期を見直す",
                ],
            ),
            vx(
                "監視アラート: 連携バッチ異常終了（住民記録→税務）",
                "監視システムより通知。住民記録システムから税務システムへの異動連携バッチが異常終了。",
                "事業者にて連携ファイルの不正データを補正し、バッチを再実行しました。",
                &[
                    "外字を含む異動データの文字コード変換エラー",
                    "該当データを補正してバッチを再実行",
                    "同日午前に連携完了",
                    "外字変換テーブルを更新し、連携前チェックを追加する",
                ],
            ),
            vx(
                "監視アラート: 南部市民センター 拠点ルータ 死活監視NG",
                "監視システムより通知。南部市民センター拠点ルータへのping応答なし。",
                "回線事業者側の瞬断で、5分後に自動復旧しました。以降の断は発生していません。",
                &[
                    "回線事業者側の設備工事に伴う瞬断",
                    "自動復旧のため対応なし",
                    "発報から5分後に復旧",
                    "回線事業者の工事予定を事前に入手する運用とする",
                ],
            ),
            vx(
                "監視アラート: ウイルス定義ファイル更新失敗（LGWAN系ウイルス管理サーバ）",
                "監視システムより通知。LGWAN系ウイルス管理サーバでウイルス定義ファイルの取得に失敗。",
                "定義ファイルを手動で取得・格納し、配布が完了したことを確認しました。",
                &[
                    "配信元プラットフォームの一時的な応答遅延",
                    "定義ファイルを手動で取得し指定フォルダへ格納",
                    "当日中に全端末へ配布完了",
                    "取得失敗時の自動再試行を設定する",
                ],
            ),
        ],
        notes: ALERT_NOTES,
        ..BASE
    },
    Tpl {
        key: "security-phish",
        weight: 2,
        kind: K::SecurityIncident,
        category: "security.phishing",
        script: Script::Security {
            vendor: Some("ops"),
        },
        channels: &[(Ch::Phone, 3), (Ch::Email, 1)],
        priorities: &[(P::Urgent, 1), (P::High, 1)],
        variants: &[
            vx(
                "不審メールを開いてしまった（添付ファイル実行の可能性）",
                "{unit}の{name}様より入電。取引先を装ったメールの添付ファイル（請求書.zip）を開いてしまった。中のファイルを実行したかは不明。",
                "調査の結果、不正なプログラムの実行や情報漏えいの痕跡は確認されませんでした。最終報告をDX戦略課へ提出しました。",
                &[
                    "取引先を装った不審メールの添付ファイル（zip形式）を職員が開封",
                    "当該端末をネットワークから切り離し、フルスキャンを実施（検知なし）。同じメールの受信者を特定し削除",
                    "メールフィルタに送信元ドメインと添付ファイル形式のブロックルールを追加。全庁へ注意喚起を実施",
                ],
            ),
            vx(
                "不審メールのリンクを開きパスワードを入力してしまった",
                "{unit}の{name}様。「パスワードの有効期限」という件名のメールのリンクを開き、IDとパスワードを入力してしまった。",
                "パスワード変更後、不審なサインインがないことを確認しました。最終報告をDX戦略課へ提出しました。",
                &[
                    "フィッシングサイトでMicrosoft 365の認証情報を入力",
                    "当該アカウントのパスワードを即時変更し全セッションをサインアウト。サインインログに不審なアクセスがないことを確認",
                    "条件付きアクセスで国外からのサインインを制限。標的型メール訓練を年2回実施する",
                ],
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "security-virus",
        weight: 1,
        kind: K::SecurityIncident,
        category: "security.virus",
        script: Script::Security {
            vendor: Some("ops"),
        },
        priorities: URGENT,
        variants: &[vx(
            "ウイルス検知通知（{pc}）",
            "{unit}の{name}様より入電。{pc} でウイルス対策ソフトの検知画面が表示された。ファイル名は invoice_{n}.exe。",
            "端末を再イメージ化して返却しました。感染の拡大はありませんでした。ウイルス感染報告書を受領済みです。",
            &[
                "ウイルス対策ソフトが {pc} でマルウェア（トロイの木馬）を検知・隔離",
                "端末をLANから切り離して回収。検知ファイルの入手経路（Webダウンロード）を特定",
                "原因サイトのURLをWebフィルタでブロック。端末は再イメージ化のうえ返却",
            ],
        )],
        ..BASE
    },
    Tpl {
        key: "oos",
        weight: 4,
        category: "other",
        script: Script::OutOfScope,
        channels: &[(Ch::Phone, 4), (Ch::Email, 1)],
        variants: &[
            vx(
                "国保システムでエラーが表示される",
                "{unit}の{name}様。国保システムで資格確認の画面を開くとエラーが表示される。",
                "国保システムは県所管のため、県国民健康保険団体連合会のサポート窓口をご案内しました。",
                &["国保システム（県所管）", "県国民健康保険団体連合会"],
            ),
            vx(
                "電子申請システムで申請フォームが作成できない",
                "{unit}の{name}様。電子申請システムで新しい申請フォームの公開ができない。",
                "電子申請システムは県の共同利用システムのため、県の運用窓口をご案内しました。",
                &["電子申請システム（県共同利用）", "県デジタル推進課"],
            ),
            vx(
                "マイナポータルの操作方法について",
                "{unit}の{name}様。窓口で市民からマイナポータルの操作について質問された。",
                "マイナポータルは国の所管のため、マイナンバー総合フリーダイヤルをご案内しました。",
                &["マイナポータル（国所管）", "マイナンバー総合フリーダイヤル"],
            ),
            vx(
                "選挙システムの帳票出力について",
                "{unit}の{name}様。期日前投票の集計帳票の出力方法を知りたい。",
                "選挙システムは選挙管理委員会事務局の所管のため、同事務局の担当者をご案内しました。",
                &["選挙システム（選挙管理委員会所管）", "選挙管理委員会事務局"],
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "problem-teams",
        weight: 0,
        kind: K::Problem,
        category: "m365.teams",
        script: Script::Problem {
            vendor: Some("ops"),
        },
        pool: Pool::Nobody,
        priorities: &[(P::High, 1)],
        variants: &[v(
            "課題: 多要素認証の設定変更後、Teamsサインインの問い合わせが急増",
            "多要素認証の設定変更（認証アプリの番号照合の有効化）以降、Teamsにサインインできないとの問い合わせが急増している（直近1週間で{n}0件超）。原因と対策を検討する。",
            "統合運用管理補助事業者と認証ポリシーを見直し、FAQ「多要素認証の再設定」を公開。全庁掲示板で周知し、問い合わせは通常の水準に戻りました。",
        )],
        notes: &[
            "関連チケットを集計: 月曜朝と機種変更直後の職員に集中。認証アプリの再登録で解消するケースが大半。",
            "DX戦略課と協議。FAQを先行して作成し、電子掲示板で周知する。",
            "FAQ公開後、問い合わせ件数は減少傾向。条件付きアクセスの設定見直しを事業者へ依頼する。",
        ],
        ..BASE
    },
    Tpl {
        key: "problem-pw",
        weight: 0,
        kind: K::Problem,
        category: "account.password-reset",
        script: Script::Problem { vendor: None },
        pool: Pool::Nobody,
        variants: &[v(
            "課題: パスワード初期化の問い合わせが月曜朝に集中",
            "月曜8時台の入電の約4割がパスワード初期化依頼で、待ち呼が発生している。対策を検討する。",
            "セルフパスワードリセットの導入をDX戦略課で決定しました。FAQを更新し、全庁掲示板で周知しました。",
        )],
        notes: &[
            "過去3か月の受付データを集計: 月曜8時台のパスワード初期化は平均{n}件。",
            "セルフパスワードリセット導入案をDX戦略課へ提出。",
        ],
        ..BASE
    },
    Tpl {
        key: "problem-resident",
        weight: 0,
        kind: K::Problem,
        category: "biz.resident",
        script: Script::Problem {
            vendor: Some("kikan"),
        },
        pool: Pool::Nobody,
        priorities: &[(P::High, 1)],
        variants: &[v(
            "課題: 住民記録システムのレスポンス低下が繰り返し発生",
            "月初の繁忙日に住民記録システムの応答遅延が繰り返し発生している（直近3か月で{n}回）。恒久対策を基幹系システム事業者と協議する。",
            "事業者によるSQLの改善とバッチ時刻の変更を実施しました。以降、遅延は発生していません。",
        )],
        notes: &[
            "関連する障害チケットを集計。いずれも月初の10時台に発生している。",
            "事業者と打ち合わせ。統計情報更新とバッチの競合が疑われるため、ログの提供を依頼。",
        ],
        ..BASE
    },
    Tpl {
        key: "change-patch",
        weight: 2,
        kind: K::Change,
        category: "infra.maintenance",
        script: Script::Change { vendor: "ops" },
        pool: Pool::Nobody,
        channels: &[(Ch::Email, 1)],
        variants: &[
            v(
                "週次パッチ適用作業計画（{day}実施）",
                "統合運用管理補助事業者より作業計画書を受領。{date} 19時30分〜22時、LGWAN系サーバ{n}台へセキュリティパッチを適用する。作業中はファイルサーバが一時停止する。",
                "作業完了報告を受領しました。全サーバの再起動後の正常稼働を確認済みです。",
            ),
            v(
                "ファイルサーバ fs01 容量拡張作業計画（{day}実施）",
                r"統合運用管理補助事業者より作業計画書を受領。{date} 閉庁後に fs01 のデータ領域（\\fs01\share）を2TB拡張する。",
                r"容量拡張が完了し、\\fs01\share の空き容量が確保されたことを確認しました。",
            ),
            v(
                "ウイルス対策ソフト バージョンアップ作業計画（{day}実施）",
                "統合運用管理補助事業者より作業計画書を受領。{date} にLGWAN系ウイルス管理サーバのバージョンアップを行い、翌日以降に端末へ順次配信する。",
                "管理サーバのバージョンアップ完了を確認しました。端末への配信状況は月次報告で報告します。",
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "change-network",
        weight: 1,
        kind: K::Change,
        category: "infra.maintenance",
        script: Script::Change { vendor: "network" },
        pool: Pool::Nobody,
        channels: &[(Ch::Email, 1)],
        variants: &[v(
            "ネットワーク機器ファームウェア更新作業計画（{day}実施）",
            "ネットワーク保守事業者より作業計画書を受領。{date} 閉庁後、本庁フロアスイッチ{n}台のファームウェアを更新する。",
            "作業完了報告を受領。翌朝、各フロアの疎通を確認しました。",
        )],
        ..BASE
    },
    Tpl {
        key: "change-kikan",
        weight: 1,
        kind: K::Change,
        category: "infra.maintenance",
        script: Script::Change { vendor: "kikan" },
        pool: Pool::Nobody,
        channels: &[(Ch::Email, 1)],
        variants: &[v(
            "基幹系システム 法改正対応プログラム適用作業計画（{day}実施）",
            "基幹系システム事業者より作業計画書を受領。{date} 閉庁後に住民記録・税務システムへ法改正対応プログラムを適用する。翌朝の業務開始前に動作確認を行う。",
            "プログラム適用と翌朝の動作確認の完了を確認しました。",
        )],
        ..BASE
    },
];

/// さくら市教育委員会 (教育委員会ヘルプデスク).
pub(super) static BOARD: &[Tpl] = &[
    Tpl {
        key: "pw-teacher",
        weight: 10,
        kind: K::ServiceRequest,
        category: "account.password-reset",
        pool: Pool::Schools,
        channels: PHONE_LINE,
        variants: &[
            v(
                "校務用PCのパスワード初期化依頼",
                "{unit}の{name}先生より入電。校務用PCのパスワードを失念。教職員番号で本人確認済み。",
                "本人確認のうえパスワードを初期化しました。ログイン後に変更をお願いします。",
            ),
            v(
                "児童の学習用アカウントのパスワード初期化依頼（{grade}年{class}組 {n}名）",
                "{unit}の{name}先生より、{grade}年{class}組の{n}名が学習用アカウントのパスワードを忘れたため初期化してほしいとの依頼。",
                "{n}名分のパスワードを初期化し、初期パスワードの一覧を校務用メールで担任の先生宛にお送りしました。",
            ),
            v(
                "授業中に学習用アカウントがロックされた（{grade}年{class}組）",
                "{unit}の{name}先生。授業中に{n}名の学習用アカウントがロックされ、ログインできない。",
                "ロックを解除し、授業に間に合ったことを確認しました。",
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "pw-student",
        weight: 2,
        kind: K::ServiceRequest,
        category: "account.password-reset",
        script: Script::Request,
        pool: Pool::Students,
        channels: &[(Ch::Web, 1)],
        variants: &[
            v(
                "パスワードをわすれました",
                "がっこうのタブレットにログインできません。パスワードをわすれてしまいました。",
                "パスワードを初期化しました。担任の先生から新しいパスワードを受け取ってください。",
            ),
            v(
                "ログインできない",
                "タブレットで「パスワードがちがいます」と出て、ログインできません。",
                "アカウントのロックを解除しました。もう一度ログインしてみてください。",
            ),
            v(
                "Teamsにはいれません",
                "じゅぎょうでTeamsをひらくと、サインインのがめんがでてさきにすすめません。",
                "サインインのせってい（設定）をやりなおしました。もういちどTeamsをひらいてみてください。",
            ),
        ],
        asks: &[(
            "ヘルプデスクです。あなたの学校と学年・組を教えてください。",
            "{unit}の{grade}年{class}組です。",
        )],
        ..BASE
    },
    Tpl {
        key: "giga-damage",
        weight: 7,
        kind: K::Incident,
        category: "giga.broken",
        script: Script::Repair { vendor: "giga" },
        pool: Pool::Schools,
        channels: PHONE_LINE,
        levels: &[(S::Level4, I::Individual)],
        variants: &[
            vx(
                "GIGA端末の画面が割れた（{unit} {grade}年）",
                "{unit}の{name}先生より。{grade}年{class}組の児童が休み時間に端末を落とし、画面が割れた。端末番号 {giga}。",
                "修理済みの端末を学校へ返却し、代替機を回収しました。",
                &[
                    "児童による落下で液晶パネルが破損",
                    "予備機を代替機として貸し出し",
                    "修理完了後に返却済み",
                    "持ち運び時は両手で抱えるよう指導を依頼し、保護ケースの導入を検討する",
                ],
            ),
            vx(
                "GIGA端末のキーボードが破損した（{giga}）",
                "{unit}の{name}先生より。{grade}年{class}組の端末 {giga} のキーが外れて戻らない。",
                "キーボードを交換した端末を返却しました。",
                &[
                    "キートップの破損",
                    "予備機を代替機として貸し出し",
                    "修理完了後に返却済み",
                    "キーボードカバーの配布を検討する",
                ],
            ),
            vx(
                "GIGA端末の充電端子が破損した（{giga}）",
                "{unit}の{name}先生より。端末 {giga} の充電端子が破損し、充電できない。",
                "充電端子を修理した端末を返却し、代替機を回収しました。",
                &[
                    "充電ケーブルを挿したまま持ち運んだことによる端子の破損",
                    "予備機を代替機として貸し出し",
                    "修理完了後に返却済み",
                    "充電保管庫での充電を徹底するよう学校へ周知する",
                ],
            ),
        ],
        asks: &[(
            "代替機を手配します。あわせて、破損の状況を記載した損傷始末書の提出をお願いします。",
            "損傷始末書を校長の確認後にメールで提出しました。代替機も受け取りました。",
        )],
        vendor_acks: &[
            "{vendor}の{vname}です。修理品を学校から回収しました。修理完了まで1週間程度の見込みです。",
        ],
        vendor_fixes: &[
            "{vendor}の{vname}です。修理が完了しました。本日、学校へ返却し代替機を回収しました。",
        ],
        ..BASE
    },
    Tpl {
        key: "giga-fail",
        weight: 4,
        kind: K::Incident,
        category: "giga.broken",
        script: Script::Incident {
            vendor: Some("giga"),
        },
        pool: Pool::Schools,
        channels: PHONE_LINE,
        levels: &[(S::Level4, I::Individual)],
        variants: &[
            vx(
                "GIGA端末が起動しない（{giga}）",
                "{unit}の{name}先生より。端末 {giga} の電源が入らない。充電しても変化なし。",
                "バッテリー故障のため、事業者がバッテリーを交換しました。",
                &[
                    "バッテリーの劣化",
                    "予備機を貸し出し",
                    "バッテリー交換により3日後に復旧",
                    "導入から4年経過した端末のバッテリー状態を一斉点検する",
                ],
            ),
            vx(
                "GIGA端末が頻繁にフリーズする（{giga}）",
                "{unit}の{name}先生より。{grade}年の端末 {giga} が授業中に何度もフリーズする。",
                "端末を初期化して再キッティングし、正常に動作することを確認しました。",
                &[
                    "OS更新の途中で電源が切れたことによるシステムファイルの破損",
                    "予備機を貸し出し",
                    "再キッティングにより翌日に復旧",
                    "更新配信は放課後の時間帯に行う",
                ],
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "giga-wifi",
        weight: 4,
        kind: K::Incident,
        category: "network.wifi",
        script: Script::Incident {
            vendor: Some("giga"),
        },
        pool: Pool::Schools,
        channels: PHONE_LINE,
        priorities: RAISED,
        levels: &[(S::Level3, I::SingleUnit), (S::Level2, I::SingleUnit)],
        variants: &[
            vx(
                "{room}でWi-Fiが不安定",
                "{unit}の{name}先生。{room}で授業中に端末のWi-Fiが頻繁に切れる。クラス全員の端末で同様。",
                "事業者がアクセスポイントを交換し、授業で安定して接続できることを確認しました。",
                &[
                    "アクセスポイントの故障",
                    "隣の教室のアクセスポイントの出力を調整して授業を継続",
                    "翌日にアクセスポイントを交換して復旧",
                    "設置から5年経過したアクセスポイントの更新を次年度予算で要求する",
                ],
            ),
            vx(
                "校内Wi-Fiに接続できない（{unit}）",
                "{unit}の{name}先生より。朝から校内の全教室でWi-Fiに接続できない。",
                "校内のPoEスイッチを交換し復旧しました。",
                &[
                    "校内PoEスイッチの故障",
                    "授業は紙教材に切り替え",
                    "同日午後に機器交換で復旧",
                    "学校ごとにPoEスイッチの予備機を配備する",
                ],
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "giga-setup",
        weight: 3,
        kind: K::ServiceRequest,
        category: "giga.setup",
        script: Script::Request,
        pool: Pool::Schools,
        channels: &[(Ch::Email, 3), (Ch::Line, 2), (Ch::Phone, 1)],
        variants: &[
            v(
                "転入生用のGIGA端末とアカウントの準備依頼",
                "{unit}の{name}先生より、{date}付の転入生（{grade}年）用の端末とアカウントを準備してほしいとの依頼。",
                "転入生用のアカウントを作成し、キッティング済みの端末を学校へお届けしました。",
            ),
            v(
                "GIGA端末に授業用アプリを追加したい（{grade}年）",
                "{unit}の{name}先生より、{grade}年の授業で使う学習アプリを端末に配信してほしいとの依頼。",
                "管理コンソールから{grade}年の端末へアプリを配信しました。",
            ),
            v(
                "校外学習でGIGA端末を持ち出したい",
                "{unit}の{name}先生より、{date}の校外学習で端末を持ち出すため、モバイル回線での接続設定をしたいとの相談。",
                "持ち出し用のモバイルWi-Fiルータを{n}台貸し出し、接続設定の手順をお送りしました。",
            ),
        ],
        asks: &[(
            "対象の学年・組と台数をお知らせいただけますでしょうか。",
            "{grade}年{class}組、{n}台です。よろしくお願いします。",
        )],
        ..BASE
    },
    Tpl {
        key: "komu-grades",
        weight: 4,
        kind: K::Incident,
        category: "komu.grades",
        script: Script::Incident {
            vendor: Some("komu"),
        },
        pool: Pool::Schools,
        channels: &[(Ch::Phone, 3), (Ch::Email, 1), (Ch::Line, 1)],
        priorities: RAISED,
        levels: &[(S::Level3, I::SingleUnit), (S::Level2, I::MultipleUnits)],
        variants: &[
            vx(
                "校務支援システムで成績が入力できない",
                "{unit}の{name}先生。校務支援システムの成績入力画面で保存ボタンを押すとエラー（E-2031）になる。",
                "事業者にて成績データの排他ロックを解除し、入力・保存できることを確認しました。",
                &[
                    "別の端末で開いたままの成績入力画面による排他ロックの残存",
                    "ロックを手動で解除",
                    "当日中に入力を再開",
                    "一定時間操作のない画面のロックを自動解除する修正を事業者が適用する",
                ],
            ),
            vx(
                "通知表の印刷レイアウトが崩れる",
                "{unit}の{name}先生。通知表を印刷すると所見欄の文字がはみ出す。",
                "事業者より修正版の帳票定義が適用され、正しく印刷できることを確認しました。",
                &[
                    "帳票定義の文字数上限の設定誤り",
                    "所見欄の文字数を調整して印刷するよう案内",
                    "修正版の帳票定義を3日後に適用",
                    "帳票改修時の印刷確認項目に長文の所見を追加する",
                ],
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "komu-inq",
        weight: 5,
        category: "komu.attendance",
        pool: Pool::Schools,
        channels: PHONE_LINE,
        variants: &[
            v(
                "出欠の入力方法について（校務支援システム）",
                "{unit}の{name}先生。出席停止（感染症）の入力方法が分からない。",
                "出欠入力画面で「出席停止」を選択し、事由を入力する手順をご案内しました。",
            ),
            v(
                "指導要録の年度更新の手順について",
                "{unit}の{name}先生より、指導要録の年度更新の手順の問い合わせ。",
                "操作マニュアルの該当ページと、作業期限（3月末）をご案内しました。",
            ),
            v(
                "校務支援システムで転入生を名簿に追加したい",
                "{unit}の{name}先生。{grade}年{class}組に転入生を追加したい。",
                "名簿管理画面での転入処理の手順をご案内しました。",
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "apps",
        weight: 5,
        category: "apps.learning",
        pool: Pool::Schools,
        channels: PHONE_LINE,
        variants: &[
            v(
                "学習ドリルアプリにログインできない（{grade}年{class}組）",
                "{unit}の{name}先生。{grade}年{class}組の数名が学習ドリルアプリにログインできない。",
                "学習ドリル側のアカウント連携が未実施だったため、連携手順をご案内しました。",
            ),
            v(
                "授業支援アプリで課題が配信できない",
                "{unit}の{name}先生。授業支援アプリで課題を配信しても、児童の端末に表示されない。",
                "配信先のクラス設定が前年度のままだったため、今年度のクラスへの切り替え手順をご案内しました。",
            ),
            v(
                "Teamsの課題が提出できない（生徒）",
                "{unit}の{name}先生。生徒がTeamsの課題でファイルを提出しようとするとエラーになる。",
                "ファイル名に使えない記号が含まれていたため、名前を変えて提出するようご案内しました。",
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "unblock-school",
        weight: 4,
        kind: K::ServiceRequest,
        category: "network.web-unblock",
        script: Script::Request,
        pool: Pool::Schools,
        channels: &[(Ch::Email, 3), (Ch::Line, 2), (Ch::Fax, 1)],
        variants: &[
            v(
                "授業で使うWebサイトの閲覧解除申請（{site}）",
                "{unit}の{name}先生より、{grade}年の総合的な学習の時間で使う {url}（{site}）がフィルタリングで閲覧できないため解除を申請。",
                "{url} の閲覧を許可しました。児童生徒用端末で表示できることを確認いただきました。",
            ),
            v(
                "調べ学習で使うサイトが表示されない（{site}）",
                "{unit}の{name}先生。{grade}年の調べ学習で {url} を開くと「このサイトはブロックされています」と表示される。",
                "学習用途と確認できたため閲覧を許可しました。",
            ),
        ],
        asks: &[(
            "閲覧解除には校長の承認が必要です。承認済みの申請書をお送りいただけますでしょうか。",
            "校長の承認を得た申請書を送付しました。",
        )],
        notes: &[
            "フィルタリングのカテゴリ判定を確認。学習用途であり、学校教育課の基準に適合する。",
        ],
        ..BASE
    },
    Tpl {
        key: "toner-school",
        weight: 3,
        kind: K::ServiceRequest,
        category: "printer.toner",
        pool: Pool::Schools,
        variants: &[v(
            "職員室の複合機のトナー交換",
            "{unit}の{name}先生。職員室の複合機でトナー交換のメッセージが表示された。予備のトナーがない。",
            "トナーを学校へお届けしました。",
        )],
        ..BASE
    },
    Tpl {
        key: "oos-school",
        weight: 3,
        category: "other",
        script: Script::OutOfScope,
        pool: Pool::Schools,
        channels: &[(Ch::Phone, 3), (Ch::Line, 1)],
        variants: &[
            vx(
                "給与明細の閲覧方法について",
                "{unit}の{name}先生。給与明細をWebで閲覧する方法が分からない。",
                "教職員の給与システムは県教育委員会の所管のため、県の問い合わせ窓口をご案内しました。",
                &[
                    "教職員人事給与システム（県教育委員会所管）",
                    "県教育委員会 教職員課",
                ],
            ),
            vx(
                "職員室の電話機が故障した",
                "{unit}の{name}先生。職員室の電話機の受話器から音が出ない。",
                "学校の電話設備は学校施設課の所管のため、同課をご案内しました。",
                &["校内電話設備（学校施設課所管）", "学校施設課"],
            ),
            vx(
                "学力調査の結果登録システムにログインできない",
                "{unit}の{name}先生。県の学力調査の結果登録システムにログインできない。",
                "学力調査システムは県教育委員会の所管のため、県の運用窓口をご案内しました。",
                &[
                    "学力調査システム（県教育委員会所管）",
                    "県教育委員会 義務教育課",
                ],
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "office-board",
        weight: 3,
        category: "apps.m365",
        pool: Pool::Units(&["E10000", "E20000"]),
        channels: &[(Ch::Phone, 3), (Ch::Email, 1)],
        variants: &[
            v(
                "Teams会議を録画したい",
                "{unit}の{name}様。校長会をTeamsで開催するので録画の方法を知りたい。",
                "会議中の「その他」メニューからの録画手順と、保存先をご案内しました。",
            ),
            v(
                "学校宛ての一斉メールの送り方について",
                "{unit}の{name}様。全校の教頭宛てに一斉にメールを送りたい。",
                "教頭配布リストの利用方法をご案内しました。",
            ),
        ],
        ..BASE
    },
    Tpl {
        key: "usb-loss",
        weight: 1,
        kind: K::SecurityIncident,
        category: "security.loss",
        script: Script::Security { vendor: None },
        pool: Pool::Schools,
        priorities: &[(P::High, 1)],
        variants: &[vx(
            "USBメモリの紛失（成績データを含む可能性）",
            "{unit}の{name}先生より入電。成績データを保存していた可能性のあるUSBメモリが見当たらない。最後に使用したのは{date}。",
            "校内を捜索した結果、職員室の机の中で発見されました。最終報告を学校教育課へ提出しました。",
            &[
                "成績データを含む可能性のあるUSBメモリの所在不明",
                "校内の捜索と使用履歴の確認。学校教育課へ第一報",
                "職員室内で発見。暗号化USBメモリ以外の使用禁止を全校へ再周知",
            ],
        )],
        ..BASE
    },
    Tpl {
        key: "board-phish",
        weight: 1,
        kind: K::SecurityIncident,
        category: "security.phishing",
        script: Script::Security { vendor: None },
        pool: Pool::Schools,
        priorities: &[(P::High, 1)],
        variants: &[vx(
            "不審メールを開いてしまった（校務用メール）",
            "{unit}の{name}先生より入電。保護者を装ったメールの添付ファイルを開いてしまった。",
            "調査の結果、感染や情報漏えいの痕跡は確認されませんでした。最終報告を学校教育課へ提出しました。",
            &[
                "保護者を装った不審メールの添付ファイルを教員が開封",
                "校務用PCをネットワークから切り離しフルスキャン（検知なし）",
                "メールフィルタに送信元を登録。全校へ注意喚起を実施",
            ],
        )],
        ..BASE
    },
    Tpl {
        key: "alert-board",
        weight: 3,
        kind: K::Incident,
        category: "infra.monitoring",
        script: Script::Alert {
            vendor: Some("komu"),
        },
        pool: Pool::Nobody,
        channels: MONITORING,
        priorities: RAISED,
        levels: &[(S::Level3, I::MultipleUnits)],
        variants: &[
            vx(
                "監視アラート: 校務系ファイルサーバ kfs01 ディスク使用率{pct}%超",
                r"監視システムより通知。校務系ファイルサーバ kfs01 の共有領域（\\kfs01\kyoumu）の使用率が{pct}%を超過。",
                r"各校へ不要ファイルの整理を依頼し、\\kfs01\kyoumu の使用率を80%未満に下げました。",
                &[
                    "学校行事の写真・動画データの保存増加",
                    "各校へファイル整理を依頼",
                    "3日後に閾値未満へ回復",
                    "写真・動画の保存先を学習用クラウドへ移す運用を検討する",
                ],
            ),
            vx(
                "監視アラート: 校務支援システム 夜間バックアップ失敗",
                "監視システムより通知。校務支援システムの夜間バックアップが異常終了。",
                "事業者にてバックアップを再実行し、正常終了を確認しました。",
                &[
                    "バックアップ先ストレージの一時的な応答遅延",
                    "バックアップを手動で再実行",
                    "同日中に正常終了",
                    "バックアップ開始時刻をストレージの保守処理と重ならないよう変更する",
                ],
            ),
        ],
        notes: ALERT_NOTES,
        ..BASE
    },
    Tpl {
        key: "alert-school-net",
        weight: 2,
        kind: K::Incident,
        category: "infra.monitoring",
        script: Script::Alert {
            vendor: Some("giga"),
        },
        pool: Pool::Nobody,
        channels: MONITORING,
        priorities: RAISED,
        levels: &[(S::Level3, I::SingleUnit)],
        variants: &[vx(
            "監視アラート: {school} 校内ネットワーク スイッチ応答なし",
            "監視システムより通知。{school}の校内コアスイッチへのping応答なし。",
            "学校の停電（電気設備点検）によるもので、復電後に自動復旧しました。",
            &[
                "学校の電気設備点検に伴う停電",
                "復電を待って状態を確認",
                "復電後に自動復旧",
                "学校の停電予定を事前に共有してもらう運用とする",
            ],
        )],
        notes: ALERT_NOTES,
        ..BASE
    },
    Tpl {
        key: "problem-giga",
        weight: 0,
        kind: K::Problem,
        category: "giga.broken",
        script: Script::Problem {
            vendor: Some("giga"),
        },
        pool: Pool::Nobody,
        variants: &[v(
            "課題: GIGA端末の画面破損が多発",
            "今年度の画面破損の修理依頼が{n}0件を超え、前年同期の約1.5倍。保護ケースの導入を含めて対策を検討する。",
            "小学校低学年の端末に保護ケースを導入し、持ち運びの指導資料を各校へ配布しました。",
        )],
        notes: &[
            "修理依頼を学校・学年別に集計: 小学校1〜3年に集中。",
            "学校教育課と協議。保護ケースの見積もりを事業者へ依頼。",
        ],
        ..BASE
    },
    Tpl {
        key: "problem-drill",
        weight: 0,
        kind: K::Problem,
        category: "apps.learning",
        script: Script::Problem { vendor: None },
        pool: Pool::Nobody,
        variants: &[v(
            "課題: 学習ドリルアプリのログインエラーが週明けの朝に集中",
            "月曜1時間目に学習ドリルアプリへのログインエラーの問い合わせが集中している。原因と対策を検討する。",
            "週末の自動更新後に認証情報が失効する事象と判明。アプリ提供元の修正版が配信され、問い合わせは解消しました。",
        )],
        notes: &[
            "関連する問い合わせを集計: 直近4週の月曜に計{n}件。",
            "アプリ提供元へ事象を報告し、調査を依頼。",
        ],
        ..BASE
    },
    Tpl {
        key: "change-komu",
        weight: 1,
        kind: K::Change,
        category: "infra.maintenance",
        script: Script::Change { vendor: "komu" },
        pool: Pool::Nobody,
        channels: &[(Ch::Email, 1)],
        variants: &[v(
            "校務支援システム 定期メンテナンス作業計画（{day}実施）",
            "校務支援システム事業者より作業計画書を受領。{date} 18時〜21時にサーバのメンテナンスを行う。作業中は校務支援システムを利用できない。",
            "作業完了報告を受領しました。翌朝、各校でログインできることを確認しました。",
        )],
        ..BASE
    },
    Tpl {
        key: "change-giga",
        weight: 1,
        kind: K::Change,
        category: "infra.maintenance",
        script: Script::Change { vendor: "giga" },
        pool: Pool::Nobody,
        channels: &[(Ch::Email, 1)],
        variants: &[v(
            "GIGA端末 OSアップデート配信計画（{day}実施）",
            "GIGA端末保守事業者より作業計画書を受領。{date} の放課後から、全校の児童生徒用端末へOSアップデートを段階的に配信する。",
            "配信完了報告を受領しました。更新に失敗した端末は個別に対応済みです。",
        )],
        ..BASE
    },
];

/// Sites that Web filtering blocks by mistake, per tenant: (name, URL).
pub(super) const CITY_SITES: &[(&str, &str)] = &[
    ("e-Gov法令検索", "https://laws.e-gov.go.jp/"),
    ("国土地理院 地理院地図", "https://maps.gsi.go.jp/"),
    (
        "県入札情報サービス",
        "https://nyusatsu.pref.sakura.example.jp/",
    ),
    ("自治体DX事例データベース", "https://dx-jirei.example.org/"),
    ("自治体職員研修 申込サイト", "https://kenshu.example.or.jp/"),
];
pub(super) const BOARD_SITES: &[(&str, &str)] = &[
    ("NHK for School", "https://www.nhk.or.jp/school/"),
    ("気象庁 過去の気象データ", "https://www.data.jma.go.jp/"),
    ("さくら市立図書館", "https://www.library.sakura.example.jp/"),
    ("国土地理院 地理院地図", "https://maps.gsi.go.jp/"),
    (
        "郷土資料デジタルアーカイブ",
        "https://archive.sakura.example.jp/",
    ),
];
pub(super) const ROOMS: &[&str] = &[
    "3年2組の教室",
    "理科室",
    "図書室",
    "体育館",
    "音楽室",
    "多目的室",
];
