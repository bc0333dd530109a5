//! Who is signed in, as a reactive value every page shares.
//!
//! Logging in, registering and logging out happen without a page load, so the pages that show
//! the account ask again whenever [`Session::changed`] is called.

use crate::api::get_me;
use crate::error::AppError;
use crate::model::UserView;
use leptos::prelude::*;

/// The tab's view of the session.
#[derive(Debug, Clone, Copy)]
pub struct Session {
    version: RwSignal<u64>,
}

impl Session {
    /// Creates the session store and makes it available as context.
    pub fn provide() -> Session {
        let session = Session {
            version: RwSignal::new(0),
        };
        provide_context(session);
        session
    }

    /// The tab's session store.
    pub fn get() -> Session {
        expect_context::<Session>()
    }

    /// Reloads the signed-in user whenever the session changes.
    pub fn user_resource(self) -> Resource<Result<Option<UserView>, AppError>> {
        Resource::new(move || self.version.get(), |_| get_me())
    }

    /// Call after signing in or out.
    pub fn changed(self) {
        self.version.update(|v| *v += 1);
    }

    /// Marks the session changed once `action` succeeds.
    pub fn follow<A>(self, action: ServerAction<A>)
    where
        A: server_fn::ServerFn<Output = (), Error = AppError> + Clone + Send + Sync + 'static,
    {
        Effect::new(move |_| {
            if action.value().get().is_some_and(|result| result.is_ok()) {
                self.changed();
            }
        });
    }
}
