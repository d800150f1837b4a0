//! The sample app's flows over HTTP: a cookie jar, no automatic redirects, every hop asserted.
//! The mock Logto runs the sign-in experience; its codes arrive in the fake Postmark's inbox.

mod callback;
mod codes;
mod faults;
mod pages;
mod profile;
mod sign_in;
mod sign_out;
mod sign_up;
mod support;
mod tokens;
